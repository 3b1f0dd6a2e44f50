package semhttp

import (
	"os"
	"syscall"
)

// dupFile returns a second *os.File on f's open file description (sharing
// its offset), for the transport to send with sendfile and then close while
// the caller's f stays open for another attempt.
func dupFile(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var nfd uintptr
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		nfd, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return nil, err
	}
	if errno != 0 {
		return nil, errno
	}
	return os.NewFile(nfd, f.Name()), nil
}
