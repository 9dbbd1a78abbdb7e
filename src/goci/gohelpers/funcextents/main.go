// Command funcextents prints the extent of every function declaration with a body in the Go
// files named on standard input, one JSON object per file. goci computes coverage totals
// from these extents exactly as `go tool cover -func` does (cmd/cover/func.go), which parses
// the files with go/parser and counts the blocks inside each *ast.FuncDecl.
package main

import (
	"bufio"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
)

type extent struct {
	Name      string `json:"name"`
	StartLine int    `json:"start_line"`
	StartCol  int    `json:"start_col"`
	EndLine   int    `json:"end_line"`
	EndCol    int    `json:"end_col"`
}

type fileResult struct {
	File  string   `json:"file"`
	Funcs []extent `json:"funcs"`
	Error string   `json:"error,omitempty"`
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		name := in.Text()
		if name == "" {
			continue
		}
		result := fileResult{File: name, Funcs: []extent{}}
		fset := token.NewFileSet()
		parsed, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			result.Error = err.Error()
		} else {
			ast.Inspect(parsed, func(node ast.Node) bool {
				decl, ok := node.(*ast.FuncDecl)
				if !ok || decl.Body == nil {
					return true
				}
				start := fset.Position(decl.Pos())
				end := fset.Position(decl.End())
				result.Funcs = append(result.Funcs, extent{
					decl.Name.Name, start.Line, start.Column, end.Line, end.Column,
				})
				return true
			})
		}
		if err := enc.Encode(result); err != nil {
			os.Exit(1)
		}
	}
}
