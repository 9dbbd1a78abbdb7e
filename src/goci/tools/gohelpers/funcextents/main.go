// Command funcextents prints, for every Go file named on standard input, one JSON object with
// the extent of each function declaration with a body and the coverage blocks that Go's cover
// tool makes for the file.
//
// goci computes coverage totals from the extents exactly as `go tool cover -func` does
// (cmd/cover/func.go, which counts the blocks inside each *ast.FuncDecl), and checks every
// profile against the blocks: a profile may only claim the blocks and statement counts that
// instrumenting this very source gives. The block walk below follows cmd/cover/cover.go
// (Visit, addCounters, statementBoundary, endsBasicSourceBlock, dedup) without the rewriting.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
)

// A large repository has millions of functions and blocks and goci decodes every one, so they
// come as flat arrays of numbers rather than one object each.
type fileResult struct {
	File string `json:"file"`
	// The functions' names, one a line, and for each: start line, start col, end line, end col.
	Names string `json:"names"`
	Funcs []int  `json:"funcs"`
	// Blocks as a profile spells them, in a profile's order (by position): start line, start
	// col, end line, end col, statements.
	Blocks []int `json:"blocks"`
	// Unchecked says why the blocks cannot be compared with a profile: //line directives
	// move the positions a profile names into other files.
	Unchecked string `json:"unchecked,omitempty"`
	Error     string `json:"error,omitempty"`
}

// main describes the files named on standard input in that order, parsing up to GOMAXPROCS
// of them at a time (a monorepo's profile names tens of thousands of files).
func main() {
	// Parsing allocates a lot and keeps little: collect garbage less often (a fifth less CPU).
	debug.SetGCPercent(400)
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	var names []string
	for in.Scan() {
		if name := in.Text(); name != "" {
			names = append(names, name)
		}
	}
	results := make([]chan []byte, len(names))
	for i := range results {
		results[i] = make(chan []byte, 1)
	}
	next := make(chan int)
	ahead := make(chan struct{}, 4*runtime.GOMAXPROCS(0)) // answers held at most
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		go func() {
			for i := range next {
				encoded, err := json.Marshal(describe(names[i]))
				if err != nil {
					os.Exit(1)
				}
				results[i] <- encoded
			}
		}()
	}
	go func() {
		for i := range names {
			ahead <- struct{}{}
			next <- i
		}
		close(next)
	}()
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	for i := range names {
		encoded := <-results[i]
		<-ahead
		out.Write(encoded)
		out.WriteByte('\n')
	}
}

func describe(name string) (result fileResult) {
	result = fileResult{File: name, Funcs: []int{}, Blocks: []int{}}
	defer func() {
		// The walk panics only where cmd/cover itself would ("lost else"): report, not crash.
		if r := recover(); r != nil {
			result.Names, result.Funcs, result.Blocks = "", []int{}, []int{}
			result.Error = "cannot walk the file as go tool cover does"
		}
	}()
	content, err := os.ReadFile(name)
	if err != nil {
		result.Error = err.Error()
		return result
	}
	fset := token.NewFileSet()
	parsed, err := parser.ParseFile(fset, name, content, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		result.Error = err.Error()
		return result
	}
	var names []string
	ast.Inspect(parsed, func(node ast.Node) bool {
		decl, ok := node.(*ast.FuncDecl)
		if !ok || decl.Body == nil {
			return true
		}
		start := fset.Position(decl.Pos())
		end := fset.Position(decl.End())
		names = append(names, decl.Name.Name)
		result.Funcs = append(result.Funcs, start.Line, start.Column, end.Line, end.Column)
		return true
	})
	result.Names = strings.Join(names, "\n")
	walker := &coverWalker{fset: fset, content: content, seen: map[[2]token.Position]bool{}}
	ast.Walk(walker, parsed)
	blocks := make([][5]int, 0, len(walker.blocks))
	for _, b := range walker.blocks {
		start, end := walker.dedup(fset.Position(b.start), fset.Position(b.end))
		if start.Filename != name || end.Filename != name {
			result.Unchecked = "line directive"
		}
		blocks = append(blocks, [5]int{start.Line, start.Column, end.Line, end.Column, b.statements})
	}
	sort.SliceStable(blocks, func(i, j int) bool {
		a, b := blocks[i], blocks[j]
		for k := 0; k < 4; k++ {
			if a[k] != b[k] {
				return a[k] < b[k]
			}
		}
		return false
	})
	for _, b := range blocks {
		result.Blocks = append(result.Blocks, b[:]...)
	}
	return result
}

type block struct {
	start, end token.Pos
	statements int
}

// coverWalker collects the blocks cmd/cover's File.Visit would instrument.
type coverWalker struct {
	fset    *token.FileSet
	content []byte
	blocks  []block
	seen    map[[2]token.Position]bool
}

func (f *coverWalker) offset(pos token.Pos) int {
	return f.fset.Position(pos).Offset
}

// findText finds text in the source from pos on, skipping comments (as cmd/cover does).
func (f *coverWalker) findText(pos token.Pos, text string) int {
	b := []byte(text)
	i := f.offset(pos)
	s := f.content
	for i < len(s) {
		if bytes.HasPrefix(s[i:], b) {
			return i
		}
		if i+2 <= len(s) && s[i] == '/' && s[i+1] == '/' {
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		}
		if i+2 <= len(s) && s[i] == '/' && s[i+1] == '*' {
			for i += 2; ; i++ {
				if i+2 > len(s) {
					return 0
				}
				if s[i] == '*' && s[i+1] == '/' {
					i += 2
					break
				}
			}
			continue
		}
		i++
	}
	return -1
}

func (f *coverWalker) Visit(node ast.Node) ast.Visitor {
	switch n := node.(type) {
	case *ast.BlockStmt:
		if len(n.List) > 0 {
			switch n.List[0].(type) {
			case *ast.CaseClause:
				for _, n := range n.List {
					clause := n.(*ast.CaseClause)
					f.addCounters(clause.Colon+1, clause.Colon+1, clause.End(), clause.Body, false)
				}
				return f
			case *ast.CommClause:
				for _, n := range n.List {
					clause := n.(*ast.CommClause)
					f.addCounters(clause.Colon+1, clause.Colon+1, clause.End(), clause.Body, false)
				}
				return f
			}
		}
		f.addCounters(n.Lbrace, n.Lbrace+1, n.Rbrace+1, n.List, true)
	case *ast.IfStmt:
		if n.Init != nil {
			ast.Walk(f, n.Init)
		}
		ast.Walk(f, n.Cond)
		ast.Walk(f, n.Body)
		if n.Else == nil {
			return nil
		}
		elseOffset := f.findText(n.Body.End(), "else")
		if elseOffset < 0 {
			panic("lost else")
		}
		pos := f.fset.File(n.Body.End()).Pos(elseOffset + 4)
		switch stmt := n.Else.(type) {
		case *ast.IfStmt:
			n.Else = &ast.BlockStmt{Lbrace: pos, List: []ast.Stmt{stmt}, Rbrace: stmt.End()}
		case *ast.BlockStmt:
			stmt.Lbrace = pos
		default:
			panic("unexpected node type in if")
		}
		ast.Walk(f, n.Else)
		return nil
	case *ast.SelectStmt:
		if n.Body == nil || len(n.Body.List) == 0 {
			return nil
		}
	case *ast.SwitchStmt:
		if n.Body == nil || len(n.Body.List) == 0 {
			if n.Init != nil {
				ast.Walk(f, n.Init)
			}
			if n.Tag != nil {
				ast.Walk(f, n.Tag)
			}
			return nil
		}
	case *ast.TypeSwitchStmt:
		if n.Body == nil || len(n.Body.List) == 0 {
			if n.Init != nil {
				ast.Walk(f, n.Init)
			}
			ast.Walk(f, n.Assign)
			return nil
		}
	case *ast.FuncDecl:
		if n.Name.Name == "_" || n.Body == nil {
			return nil
		}
		ast.Walk(f, n.Body)
		return nil
	case *ast.FuncLit:
		ast.Walk(f, n.Body)
		return nil
	}
	return f
}

func (f *coverWalker) addCounters(pos, insertPos, blockEnd token.Pos, list []ast.Stmt, extendToClosingBrace bool) {
	if len(list) == 0 {
		// An empty block's counter goes where cmd/cover inserts it: after the brace.
		f.blocks = append(f.blocks, block{insertPos, blockEnd, 0})
		return
	}
	list = append([]ast.Stmt(nil), list...)
	for {
		var last int
		end := blockEnd
		for last = 0; last < len(list); last++ {
			stmt := list[last]
			end = f.statementBoundary(stmt)
			if f.endsBasicSourceBlock(stmt) {
				if label, isLabel := stmt.(*ast.LabeledStmt); isLabel && !isControl(label.Stmt) {
					newLabel := *label
					newLabel.Stmt = &ast.EmptyStmt{Semicolon: label.Stmt.Pos(), Implicit: true}
					end = label.Pos()
					list[last] = &newLabel
					list = append(list, nil)
					copy(list[last+1:], list[last:])
					list[last+1] = label.Stmt
				}
				last++
				extendToClosingBrace = false
				break
			}
		}
		if extendToClosingBrace {
			end = blockEnd
		}
		if pos != end {
			f.blocks = append(f.blocks, block{pos, end, last})
		}
		list = list[last:]
		if len(list) == 0 {
			break
		}
		pos = list[0].Pos()
	}
}

func hasFuncLiteral(n ast.Node) (bool, token.Pos) {
	if n == nil {
		return false, 0
	}
	var literal funcLitFinder
	ast.Walk(&literal, n)
	return literal.found(), token.Pos(literal)
}

// boundaryOf is where a block ends at a statement with a body: at the first function
// literal in its header parts (in order, as cmd/cover checks them), else at the body's brace.
func boundaryOf(body *ast.BlockStmt, header ...ast.Node) token.Pos {
	for _, part := range header {
		if found, pos := hasFuncLiteral(part); found {
			return pos
		}
	}
	return body.Lbrace
}

func (f *coverWalker) statementBoundary(s ast.Stmt) token.Pos {
	switch s := s.(type) {
	case *ast.BlockStmt:
		return s.Lbrace
	case *ast.IfStmt:
		return boundaryOf(s.Body, s.Init, s.Cond)
	case *ast.ForStmt:
		return boundaryOf(s.Body, s.Init, s.Cond, s.Post)
	case *ast.LabeledStmt:
		return f.statementBoundary(s.Stmt)
	case *ast.RangeStmt:
		return boundaryOf(s.Body, s.X)
	case *ast.SwitchStmt:
		return boundaryOf(s.Body, s.Init, s.Tag)
	case *ast.SelectStmt:
		return s.Body.Lbrace
	case *ast.TypeSwitchStmt:
		return boundaryOf(s.Body, s.Init)
	}
	if found, pos := hasFuncLiteral(s); found {
		return pos
	}
	return s.End()
}

func (f *coverWalker) endsBasicSourceBlock(s ast.Stmt) bool {
	switch s := s.(type) {
	case *ast.BlockStmt, *ast.BranchStmt, *ast.ForStmt, *ast.IfStmt, *ast.LabeledStmt,
		*ast.RangeStmt, *ast.SwitchStmt, *ast.SelectStmt, *ast.TypeSwitchStmt:
		return true
	case *ast.ExprStmt:
		if call, ok := s.X.(*ast.CallExpr); ok {
			if ident, ok := call.Fun.(*ast.Ident); ok && ident.Name == "panic" && len(call.Args) == 1 {
				return true
			}
		}
	}
	found, _ := hasFuncLiteral(s)
	return found
}

func isControl(s ast.Stmt) bool {
	switch s.(type) {
	case *ast.ForStmt, *ast.RangeStmt, *ast.SwitchStmt, *ast.SelectStmt, *ast.TypeSwitchStmt:
		return true
	}
	return false
}

type funcLitFinder token.Pos

func (f *funcLitFinder) Visit(node ast.Node) ast.Visitor {
	if f.found() {
		return nil
	}
	if n, ok := node.(*ast.FuncLit); ok {
		*f = funcLitFinder(n.Body.Lbrace)
		return nil
	}
	return f
}

func (f *funcLitFinder) found() bool {
	return token.Pos(*f) != token.NoPos
}

// dedup moves the end of a block whose positions repeat one already seen (a line directive
// without columns can cause that), as cmd/cover does.
func (f *coverWalker) dedup(p1, p2 token.Position) (token.Position, token.Position) {
	p1.Offset, p2.Offset = 0, 0
	for f.seen[[2]token.Position{p1, p2}] {
		p2.Column++
	}
	f.seen[[2]token.Position{p1, p2}] = true
	return p1, p2
}
