//go:build !linux

package semhttp

import (
	"errors"
	"os"
)

// dupFile is only implemented on Linux; elsewhere a file body goes out
// through a NopCloser (a copy loop instead of sendfile).
func dupFile(*os.File) (*os.File, error) {
	return nil, errors.ErrUnsupported
}
