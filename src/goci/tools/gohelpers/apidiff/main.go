// Command apidiff compares the exported API of package pairs, old and new, loaded by Go's own
// type checker from the export data that `go list -export` wrote, and prints one JSON object
// per pair: every exported identifier added, removed or changed, and whether the change is
// compatible.
//
// The rules are those of golang.org/x/exp/apidiff (its README): old and new defined types
// correspond by name within the compared packages and by package path and name elsewhere; a
// removed name, a changed function signature, variable or constant type or constant value, a
// changed field type, a method added to an interface that clients may implement (one without
// an unexported method), a struct that stops being comparable, changed type parameters, and a
// type that stops implementing an interface of its package are incompatible; added names,
// fields and methods are compatible.
//
// Input (standard input): {"pairs": [{"label", "old", "new"}], "old": {path: export file},
// "new": {path: export file}}; an empty "old" or "new" import path means the package does not
// exist on that side.
//
// Aliases are resolved to the types they stand for (gotypesalias=0), as apidiff compares them:
// an alias is another name for the same type, never a type of its own.
//
//go:debug gotypesalias=0
package main

import (
	"encoding/json"
	"fmt"
	"go/constant"
	"go/importer"
	"go/token"
	"go/types"
	"io"
	"os"
	"sort"
)

type pair struct {
	Label string `json:"label"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

type input struct {
	Pairs []pair            `json:"pairs"`
	Old   map[string]string `json:"old"`
	New   map[string]string `json:"new"`
}

type change struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Change     string `json:"change"`
	Old        string `json:"old,omitempty"`
	New        string `json:"new,omitempty"`
	Compatible bool   `json:"compatible"`
	Why        string `json:"why,omitempty"`
}

type result struct {
	Label   string   `json:"label"`
	Changes []change `json:"changes"`
	Error   string   `json:"error,omitempty"`
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fmt.Fprintln(os.Stderr, "apidiff: bad input:", err)
		os.Exit(2)
	}
	oldImp, newImp := loader(in.Old), loader(in.New)
	enc := json.NewEncoder(os.Stdout)
	for _, p := range in.Pairs {
		if err := enc.Encode(compare(p, oldImp, newImp)); err != nil {
			os.Exit(1)
		}
	}
}

func loader(files map[string]string) types.Importer {
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := files[path]
		if !ok || file == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
}

func compare(p pair, oldImp, newImp types.Importer) (res result) {
	res = result{Label: p.Label, Changes: []change{}}
	defer func() {
		if r := recover(); r != nil {
			res.Changes, res.Error = []change{}, fmt.Sprint("cannot compare: ", r)
		}
	}()
	load := func(imp types.Importer, path string) *types.Package {
		if path == "" {
			return types.NewPackage("", "")
		}
		pkg, err := imp.Import(path)
		if err != nil {
			panic(err.Error())
		}
		return pkg
	}
	d := &differ{old: load(oldImp, p.Old), new: load(newImp, p.New)}
	d.corresp = map[*types.TypeName]types.Type{}
	d.diff()
	sort.SliceStable(d.changes, func(i, j int) bool { return d.changes[i].Name < d.changes[j].Name })
	res.Changes = append(res.Changes, d.changes...)
	return res
}

type differ struct {
	old, new *types.Package
	corresp  map[*types.TypeName]types.Type
	changes  []change
}

func (d *differ) report(name, kind, what string, old, new string, ok bool, why string) {
	d.changes = append(d.changes, change{name, kind, what, old, new, ok, why})
}

func (d *differ) qualifier(pkg *types.Package) string {
	if pkg == d.old || pkg == d.new {
		return ""
	}
	return pkg.Name()
}

func (d *differ) text(obj types.Object) string { return types.ObjectString(obj, d.qualifier) }

func (d *differ) typ(t types.Type) string { return types.TypeString(t, d.qualifier) }

func kindOf(obj types.Object) string {
	switch obj.(type) {
	case *types.Const:
		return "const"
	case *types.Var:
		return "var"
	case *types.Func:
		return "func"
	}
	return "type"
}

func (d *differ) diff() {
	oldScope, newScope := d.old.Scope(), d.new.Scope()
	for _, name := range oldScope.Names() {
		o := oldScope.Lookup(name)
		if !o.Exported() {
			continue
		}
		n := newScope.Lookup(name)
		if n == nil || !n.Exported() {
			d.report(name, kindOf(o), "removed", d.text(o), "", false, "removed")
			continue
		}
		d.object(name, o, n)
	}
	for _, name := range newScope.Names() {
		n := newScope.Lookup(name)
		if n.Exported() && oldScope.Lookup(name) == nil {
			d.report(name, kindOf(n), "added", "", d.text(n), true, "")
		}
	}
	d.implementations()
}

func (d *differ) object(name string, o, n types.Object) {
	incompatible := func(why string) { d.report(name, kindOf(o), "changed", d.text(o), d.text(n), false, why) }
	switch o := o.(type) {
	case *types.Const:
		nc, ok := n.(*types.Const)
		switch {
		case !ok:
			incompatible("no longer a constant")
		case !d.corr(o.Type(), nc.Type()):
			incompatible("type changed")
		case !constant.Compare(o.Val(), token.EQL, nc.Val()):
			incompatible("value changed")
		}
	case *types.Var:
		if nv, ok := n.(*types.Var); !ok {
			incompatible("no longer a variable")
		} else if !d.corr(o.Type(), nv.Type()) {
			incompatible("type changed")
		}
	case *types.Func:
		switch n := n.(type) {
		case *types.Func:
			if !d.corr(o.Type(), n.Type()) || !d.typeParams(sigParams(o), sigParams(n)) {
				incompatible("signature changed")
			}
		case *types.Var: // a function turned into a variable of the same type (test stubs)
			if !d.corr(o.Type(), n.Type()) {
				incompatible("signature changed")
			}
		default:
			incompatible("no longer a function")
		}
	case *types.TypeName:
		nt, ok := n.(*types.TypeName)
		if !ok {
			incompatible("no longer a type")
		} else if !d.corr(o.Type(), nt.Type()) {
			incompatible("type changed")
		}
	}
}

func sigParams(f types.Object) *types.TypeParamList {
	return f.Type().(*types.Signature).TypeParams()
}

// corr reports whether old and new correspond: identical but for defined types of the
// compared packages, which correspond by name (and are then checked as a whole).
func (d *differ) corr(old, new types.Type) bool {
	switch o := old.(type) {
	case *types.Basic:
		n, ok := new.(*types.Basic)
		return ok && o.Kind() == n.Kind()
	case *types.Array:
		n, ok := new.(*types.Array)
		return ok && o.Len() == n.Len() && d.corr(o.Elem(), n.Elem())
	case *types.Slice:
		n, ok := new.(*types.Slice)
		return ok && d.corr(o.Elem(), n.Elem())
	case *types.Map:
		n, ok := new.(*types.Map)
		return ok && d.corr(o.Key(), n.Key()) && d.corr(o.Elem(), n.Elem())
	case *types.Chan:
		n, ok := new.(*types.Chan)
		return ok && o.Dir() == n.Dir() && d.corr(o.Elem(), n.Elem())
	case *types.Pointer:
		n, ok := new.(*types.Pointer)
		return ok && d.corr(o.Elem(), n.Elem())
	case *types.Signature:
		n, ok := new.(*types.Signature)
		return ok && o.Variadic() == n.Variadic() && d.corr(o.Params(), n.Params()) &&
			d.corr(o.Results(), n.Results())
	case *types.Tuple:
		n, ok := new.(*types.Tuple)
		if !ok || o.Len() != n.Len() {
			return false
		}
		for i := 0; i < o.Len(); i++ {
			if !d.corr(o.At(i).Type(), n.At(i).Type()) {
				return false
			}
		}
		return true
	case *types.Struct:
		n, ok := new.(*types.Struct)
		if !ok || o.NumFields() != n.NumFields() {
			return false
		}
		for i := 0; i < o.NumFields(); i++ {
			of, nf := o.Field(i), n.Field(i)
			if of.Name() != nf.Name() || of.Embedded() != nf.Embedded() || o.Tag(i) != n.Tag(i) ||
				!d.corr(of.Type(), nf.Type()) {
				return false
			}
		}
		return true
	case *types.Interface:
		n, ok := new.(*types.Interface)
		if !ok || o.NumMethods() != n.NumMethods() || o.NumEmbeddeds() != n.NumEmbeddeds() {
			return false
		}
		for i := 0; i < o.NumMethods(); i++ {
			if o.Method(i).Name() != n.Method(i).Name() || !d.corr(o.Method(i).Type(), n.Method(i).Type()) {
				return false
			}
		}
		for i := 0; i < o.NumEmbeddeds(); i++ {
			if !types.IsInterface(o.EmbeddedType(i)) && !d.corr(o.EmbeddedType(i), n.EmbeddedType(i)) {
				return false
			}
		}
		return true
	case *types.Union:
		n, ok := new.(*types.Union)
		if !ok || o.Len() != n.Len() {
			return false
		}
		for i := 0; i < o.Len(); i++ {
			if o.Term(i).Tilde() != n.Term(i).Tilde() || !d.corr(o.Term(i).Type(), n.Term(i).Type()) {
				return false
			}
		}
		return true
	case *types.TypeParam:
		n, ok := new.(*types.TypeParam)
		return ok && o.Index() == n.Index()
	case *types.Named:
		n, ok := new.(*types.Named)
		if !ok {
			return false
		}
		if o.TypeArgs().Len() != n.TypeArgs().Len() {
			return false
		}
		for i := 0; i < o.TypeArgs().Len(); i++ {
			if !d.corr(o.TypeArgs().At(i), n.TypeArgs().At(i)) {
				return false
			}
		}
		return d.establish(o.Origin(), n.Origin())
	}
	return false
}

// establish records that old corresponds to new (checking the new declaration once), or
// checks that new is the type old was found to correspond to before.
func (d *differ) establish(old, new *types.Named) bool {
	if known, ok := d.corresp[old.Obj()]; ok {
		return types.Identical(known, new)
	}
	if old.Obj().Pkg() != d.old || new.Obj().Pkg() != d.new {
		return sameID(old.Obj(), new.Obj())
	}
	if !d.typeParams(old.TypeParams(), new.TypeParams()) {
		return false
	}
	d.corresp[old.Obj()] = new
	d.defined(old, new)
	return true
}

func sameID(o, n *types.TypeName) bool {
	if o.Pkg() == nil || n.Pkg() == nil {
		return o.Pkg() == nil && n.Pkg() == nil && o.Name() == n.Name()
	}
	return o.Pkg().Path() == n.Pkg().Path() && o.Name() == n.Name()
}

func (d *differ) typeParams(o, n *types.TypeParamList) bool {
	if o.Len() != n.Len() {
		return false
	}
	for i := 0; i < o.Len(); i++ {
		if !d.corr(o.At(i).Constraint(), n.At(i).Constraint()) {
			return false
		}
	}
	return true
}

// defined checks a defined type of the old package against the one it corresponds to.
func (d *differ) defined(old, new *types.Named) {
	name := old.Obj().Name()
	switch ou := old.Underlying().(type) {
	case *types.Struct:
		if nu, ok := new.Underlying().(*types.Struct); ok {
			d.structs(name, ou, nu)
		} else {
			d.report(name, "type", "changed", d.typ(ou), d.typ(new.Underlying()), false, "no longer a struct")
		}
		if types.Comparable(old) && !types.Comparable(new) {
			d.report(name, "type", "changed", "", "", false, "no longer comparable")
		}
	case *types.Interface:
		if nu, ok := new.Underlying().(*types.Interface); ok {
			d.interfaces(name, ou, nu)
		} else {
			d.report(name, "type", "changed", d.typ(ou), d.typ(new.Underlying()), false, "no longer an interface")
		}
		return // an interface's methods are its underlying type's
	case *types.Chan:
		nu, ok := new.Underlying().(*types.Chan)
		if !ok || !d.corr(ou.Elem(), nu.Elem()) || (ou.Dir() != nu.Dir() && nu.Dir() != types.SendRecv) {
			d.report(name, "type", "changed", d.typ(ou), d.typ(new.Underlying()), false, "type changed")
		}
	default:
		if !d.corr(ou, new.Underlying()) {
			d.report(name, "type", "changed", d.typ(ou), d.typ(new.Underlying()), false, "type changed")
		}
	}
	d.methods(name, old, new)
}

func exportedMethods(t types.Type) map[string]*types.Func {
	found := map[string]*types.Func{}
	set := types.NewMethodSet(t)
	for i := 0; i < set.Len(); i++ {
		if f, ok := set.At(i).Obj().(*types.Func); ok && f.Exported() {
			found[f.Name()] = f
		}
	}
	return found
}

// methods: the new exported value and pointer method sets must hold the old ones.
func (d *differ) methods(name string, old, new *types.Named) {
	oldValue, newValue := exportedMethods(old), exportedMethods(new)
	oldPtr, newPtr := exportedMethods(types.NewPointer(old)), exportedMethods(types.NewPointer(new))
	label := func(m string, pointer bool) string {
		if pointer {
			return "(*" + name + ")." + m
		}
		return name + "." + m
	}
	for m, of := range oldPtr {
		_, value := oldValue[m]
		nf, ok := newPtr[m]
		switch {
		case !ok:
			d.report(label(m, !value), "method", "removed", d.text(of), "", false, "removed")
		case value && newValue[m] == nil:
			d.report(label(m, false), "method", "changed", d.text(of), d.text(nf), false,
				"now only on the pointer type")
		case !d.corr(of.Type(), nf.Type()):
			d.report(label(m, !value), "method", "changed", d.text(of), d.text(nf), false, "signature changed")
		}
	}
	for m, nf := range newPtr {
		if oldPtr[m] == nil {
			_, value := newValue[m]
			d.report(label(m, !value), "method", "added", "", d.text(nf), true, "")
		}
	}
}

func (d *differ) interfaces(name string, old, new *types.Interface) {
	sealed := false // an unexported method: clients cannot implement it, only embed it
	for i := 0; i < old.NumMethods(); i++ {
		sealed = sealed || !old.Method(i).Exported()
	}
	oldSet, newSet := map[string]*types.Func{}, map[string]*types.Func{}
	for i := 0; i < old.NumMethods(); i++ {
		oldSet[old.Method(i).Name()] = old.Method(i)
	}
	newSealed := false
	for i := 0; i < new.NumMethods(); i++ {
		newSet[new.Method(i).Name()] = new.Method(i)
		newSealed = newSealed || !new.Method(i).Exported()
	}
	for m, of := range oldSet {
		nf, ok := newSet[m]
		switch {
		case !of.Exported():
		case !ok:
			d.report(name+"."+m, "method", "removed", d.text(of), "", false, "removed from an interface")
		case !d.corr(of.Type(), nf.Type()):
			d.report(name+"."+m, "method", "changed", d.text(of), d.text(nf), false, "signature changed")
		}
	}
	for m, nf := range newSet {
		if _, ok := oldSet[m]; ok || !nf.Exported() {
			continue
		}
		why := ""
		if !sealed {
			why = "added to an interface that clients may implement"
		}
		d.report(name+"."+m, "method", "added", "", d.text(nf), sealed, why)
	}
	if !sealed && newSealed {
		d.report(name, "type", "changed", "", "", false, "gained an unexported method: clients can no longer implement it")
	}
	if !old.IsMethodSet() || !new.IsMethodSet() {
		oldT, newT := termsOf(old), termsOf(new)
		if len(oldT) != len(newT) || !d.allCorr(oldT, newT) {
			d.report(name, "type", "changed", d.typ(old), d.typ(new), false, "type set changed")
		}
	}
}

func termsOf(i *types.Interface) []types.Type {
	var found []types.Type
	for k := 0; k < i.NumEmbeddeds(); k++ {
		if !types.IsInterface(i.EmbeddedType(k)) {
			found = append(found, i.EmbeddedType(k))
		}
	}
	return found
}

func (d *differ) allCorr(old, new []types.Type) bool {
	for i := range old {
		if !d.corr(old[i], new[i]) {
			return false
		}
	}
	return true
}

// structs: the exported top-level fields and the exported fields a selector reaches (through
// embedded structs) must all still be there with corresponding types.
func (d *differ) structs(name string, old, new *types.Struct) {
	oldTop, newTop := topFields(old), topFields(new)
	for f, of := range oldTop {
		nf, ok := newTop[f]
		switch {
		case !ok:
			d.report(name+"."+f, "field", "removed", d.text(of), "", false, "removed")
		case !d.corr(of.Type(), nf.Type()):
			d.report(name+"."+f, "field", "changed", d.text(of), d.text(nf), false, "type changed")
		}
	}
	for f, nf := range newTop {
		if _, ok := oldTop[f]; !ok {
			d.report(name+"."+f, "field", "added", "", d.text(nf), true, "")
		}
	}
	oldSel, newSel := selectable(old), selectable(new)
	for f, of := range oldSel {
		if _, top := oldTop[f]; top {
			continue
		}
		nf, ok := newSel[f]
		switch {
		case !ok:
			d.report(name+"."+f, "field", "removed", d.text(of), "", false, "no longer selectable (embedded field)")
		case !d.corr(of.Type(), nf.Type()):
			d.report(name+"."+f, "field", "changed", d.text(of), d.text(nf), false, "type changed (embedded field)")
		}
	}
}

func topFields(s *types.Struct) map[string]*types.Var {
	found := map[string]*types.Var{}
	for i := 0; i < s.NumFields(); i++ {
		if f := s.Field(i); f.Exported() {
			found[f.Name()] = f
		}
	}
	return found
}

// selectable: every exported field x.F reaches, depth by depth; a name seen at a shallower
// depth (or twice at one depth) hides deeper ones, as Go's selector rules say.
func selectable(s *types.Struct) map[string]*types.Var {
	found, hidden := map[string]*types.Var{}, map[string]bool{}
	seen := map[*types.TypeName]bool{}
	level := []*types.Struct{s}
	for len(level) > 0 {
		here := map[string][]*types.Var{}
		var next []*types.Struct
		for _, st := range level {
			for i := 0; i < st.NumFields(); i++ {
				f := st.Field(i)
				here[f.Name()] = append(here[f.Name()], f)
				if !f.Embedded() {
					continue
				}
				t := f.Type()
				if p, ok := t.(*types.Pointer); ok {
					t = p.Elem()
				}
				if n, ok := t.(*types.Named); ok {
					if seen[n.Obj()] {
						continue
					}
					seen[n.Obj()] = true
				}
				if inner, ok := t.Underlying().(*types.Struct); ok {
					next = append(next, inner)
				}
			}
		}
		for f, vars := range here {
			if !hidden[f] && len(vars) == 1 && vars[0].Exported() {
				found[f] = vars[0]
			}
			hidden[f] = true
		}
		level = next
	}
	return found
}

// implementations: every exported type that implemented an exported interface of the old
// package must implement the corresponding interface in the new one.
func (d *differ) implementations() {
	var concrete, ifaces []*types.TypeName
	for _, name := range d.old.Scope().Names() {
		tn, ok := d.old.Scope().Lookup(name).(*types.TypeName)
		if !ok || !tn.Exported() || tn.IsAlias() {
			continue
		}
		named, ok := tn.Type().(*types.Named)
		if !ok || named.TypeParams().Len() > 0 {
			continue
		}
		if types.IsInterface(named) {
			ifaces = append(ifaces, tn)
		} else {
			concrete = append(concrete, tn)
		}
	}
	for _, t := range concrete {
		for _, i := range ifaces {
			iface := i.Type().Underlying().(*types.Interface)
			if iface.Empty() || !implements(t.Type(), iface) {
				continue
			}
			nt, haveT := d.corresp[t]
			ni, haveI := d.corresp[i]
			if !haveT || !haveI {
				continue // removed or changed beyond recognition: reported already
			}
			niface, ok := ni.Underlying().(*types.Interface)
			if ok && !implements(nt, niface) {
				d.report(t.Name(), "type", "changed", "", "", false, "no longer implements "+i.Name())
			}
		}
	}
}

func implements(t types.Type, iface *types.Interface) bool {
	return types.Implements(t, iface) || types.Implements(types.NewPointer(t), iface)
}
