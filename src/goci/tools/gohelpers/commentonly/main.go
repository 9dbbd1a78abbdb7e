// Command commentonly tells, for pairs of Go source files, whether the change between the old
// and the new version touches only comments and white space.
//
// It answers with Go's own parser, so that what counts as a comment, a string or a
// directive is exactly what the compiler thinks. A change to a directive (//go:build, // +build,
// //go:embed, //go:generate, //go:linkname and the other //go: lines, //line, //export, //extern)
// or to the cgo preamble (the comment above import "C") is a code change, and so is a change to
// an example's "// Output:" or "// Unordered output:" comment, which go test checks.
//
// Usage: commentonly OLD NEW [OLD NEW ...]; one line per pair on stdout, tab-separated:
// VERDICT NEW WHY, where VERDICT is "comments" or "code". (No encoding/json: every standard
// package imported here is one more to compile the first time the helper runs.)
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"strings"
)

func main() {
	args := os.Args[1:]
	if len(args)%2 != 0 {
		fmt.Fprintln(os.Stderr, "usage: commentonly OLD NEW [OLD NEW ...]")
		os.Exit(2)
	}
	for i := 0; i < len(args); i += 2 {
		verdict, why := compare(args[i], args[i+1])
		why = strings.Join(strings.Fields(why), " ")
		if _, err := fmt.Printf("%s\t%s\t%s\n", verdict, args[i+1], why); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}

func compare(oldPath, newPath string) (string, string) {
	oldSrc, err := os.ReadFile(oldPath)
	if err != nil {
		return "code", err.Error()
	}
	newSrc, err := os.ReadFile(newPath)
	if err != nil {
		return "code", err.Error()
	}
	oldFile, err := parser.ParseFile(token.NewFileSet(), oldPath, oldSrc, parser.ParseComments)
	if err != nil {
		return "code", "old version does not parse: " + err.Error()
	}
	newFile, err := parser.ParseFile(token.NewFileSet(), newPath, newSrc, parser.ParseComments)
	if err != nil {
		return "code", "new version does not parse: " + err.Error()
	}
	if !equalStrings(directives(oldFile), directives(newFile)) {
		return "code", "a directive changed"
	}
	if cgoPreamble(oldFile) != cgoPreamble(newFile) {
		return "code", "the cgo preamble changed"
	}
	if !equalStrings(exampleOutputs(oldFile), exampleOutputs(newFile)) {
		return "code", "an example's output comment changed"
	}
	if fingerprint(oldFile) != fingerprint(newFile) {
		return "code", "the syntax tree changed"
	}
	return "comments", "only comments or white space changed"
}

// directives lists every comment line the toolchain reads as an instruction, in order.
func directives(file *ast.File) []string {
	var found []string
	for _, group := range file.Comments {
		for _, c := range group.List {
			text := c.Text
			if strings.HasPrefix(text, "//go:") || strings.HasPrefix(text, "//line ") ||
				strings.HasPrefix(text, "//export ") || strings.HasPrefix(text, "//extern ") ||
				strings.HasPrefix(text, "/*line ") || isPlusBuild(text) {
				found = append(found, strings.TrimRight(text, " \t\r"))
			}
		}
	}
	return found
}

func isPlusBuild(text string) bool {
	rest := strings.TrimSpace(strings.TrimPrefix(text, "//"))
	return strings.HasPrefix(text, "//") && strings.HasPrefix(rest, "+build")
}

// exampleOutputs lists, in order, the comments inside function bodies that begin with
// "Output:" or "Unordered output:" (any case, as go test reads them): go test compares an
// example's output with such a comment, so it is an assertion, not a comment.
func exampleOutputs(file *ast.File) []string {
	var found []string
	for _, decl := range file.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		for _, group := range file.Comments {
			if group.Pos() < fn.Body.Lbrace || group.End() > fn.Body.Rbrace {
				continue
			}
			text := strings.ToLower(strings.TrimLeft(group.Text(), " \t\r\n\v\f"))
			if strings.HasPrefix(text, "output:") || strings.HasPrefix(text, "unordered output:") {
				found = append(found, rawComment(group))
			}
		}
	}
	return found
}

// cgoPreamble is the doc comment of import "C": C code compiled with the package.
func cgoPreamble(file *ast.File) string {
	var parts []string
	for _, decl := range file.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.IMPORT {
			continue
		}
		for _, spec := range gen.Specs {
			imp := spec.(*ast.ImportSpec)
			if imp.Path.Value != `"C"` {
				continue
			}
			if imp.Doc != nil {
				parts = append(parts, rawComment(imp.Doc))
			} else if gen.Doc != nil {
				parts = append(parts, rawComment(gen.Doc))
			}
			parts = append(parts, "|import C|")
		}
	}
	return strings.Join(parts, "\n")
}

func rawComment(group *ast.CommentGroup) string {
	var lines []string
	for _, c := range group.List {
		lines = append(lines, c.Text)
	}
	return strings.Join(lines, "\n")
}

// fingerprint is the syntax tree without positions and comments: two files with the same
// fingerprint are the same program, however their lines are broken or commented.
func fingerprint(file *ast.File) string {
	var b strings.Builder
	walk(&b, reflect.ValueOf(file))
	return b.String()
}

var (
	posType     = reflect.TypeOf(token.Pos(0))
	commentType = reflect.TypeOf((*ast.CommentGroup)(nil))
	groupsType  = reflect.TypeOf([]*ast.CommentGroup(nil))
	scopeType   = reflect.TypeOf((*ast.Scope)(nil))
	objectType  = reflect.TypeOf((*ast.Object)(nil))
)

func walk(b *strings.Builder, v reflect.Value) {
	switch v.Type() {
	case posType, commentType, groupsType, scopeType, objectType:
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("nil;")
			return
		}
		walk(b, v.Elem())
	case reflect.Struct:
		b.WriteString(v.Type().Name())
		b.WriteString("{")
		for i := 0; i < v.NumField(); i++ {
			if !v.Type().Field(i).IsExported() {
				continue
			}
			walk(b, v.Field(i))
		}
		b.WriteString("}")
	case reflect.Slice:
		b.WriteString("[")
		for i := 0; i < v.Len(); i++ {
			walk(b, v.Index(i))
		}
		b.WriteString("]")
	default:
		fmt.Fprintf(b, "%q;", fmt.Sprint(v.Interface()))
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
