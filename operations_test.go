package gatehouse

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Operations lists every Op constant of audit.go, so that search filters
// know each operation the log can hold.
func TestOperationsListsEveryOp(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for i, name := range vs.Names {
				if strings.HasPrefix(name.Name, "Op") && i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
						v, _ := strconv.Unquote(lit.Value)
						consts = append(consts, v)
					}
				}
			}
		}
		return true
	})
	ops := Operations()
	if len(consts) < 20 {
		t.Fatalf("found only %d Op constants in audit.go: %v", len(consts), consts)
	}
	for _, c := range consts {
		if !slices.Contains(ops, c) {
			t.Errorf("Operations() lacks %s", c)
		}
	}
	if len(ops) != len(consts) {
		t.Errorf("Operations() has %d entries, audit.go %d constants", len(ops), len(consts))
	}
}
