package semhttp

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxExportedNames is the v1 budget of package-level exported names
// (funcs, types, consts, vars): every one is a promise kept for v1.
const maxExportedNames = 120

// TestExportedNamesBudget counts the package-level exported names of the
// non-test files and checks each is documented. Run it with -v to list
// them.
func TestExportedNamesBudget(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	undocumented := func(n string) { t.Errorf("%s has no doc comment", n) }
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names = append(names, "func "+d.Name.Name)
					if d.Doc == nil {
						undocumented(d.Name.Name)
					}
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							names = append(names, "type "+s.Name.Name)
							if d.Doc == nil && s.Doc == nil {
								undocumented(s.Name.Name)
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								names = append(names, d.Tok.String()+" "+n.Name)
								if d.Doc == nil && s.Doc == nil && s.Comment == nil {
									undocumented(n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
	sort.Strings(names)
	if testing.Verbose() {
		t.Logf("%d names:\n%s", len(names), strings.Join(names, "\n"))
	}
	if len(names) > maxExportedNames {
		t.Errorf("%d package-level exported names, over the v1 budget of %d", len(names), maxExportedNames)
	}
}
