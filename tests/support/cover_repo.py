"""A tiny Go monorepo (go.work, two modules) for the goci test / coverage tests.

``lib`` has a tested package, a package tested only through another one (its coverage counts
only with -coverpkg) and a package without tests; ``svc`` has a tested package that calls
``lib`` and a main package without tests.
"""

from __future__ import annotations

from pathlib import Path

from support.gorepo import GoRepo
from support.gotools import hermetic_env

FILES = {
    "go.work": "go 1.21\n\nuse (\n\t./lib\n\t./svc\n)\n",
    "lib/go.mod": "module example.com/lib\n\ngo 1.21\n",
    "lib/mathx/mathx.go": """
        package mathx

        func Add(a, b int) int { return a + b }

        func Mul(a, b int) int {
            if a == 0 || b == 0 {
                return 0
            }
            return a * b
        }
        """,
    "lib/mathx/mathx_test.go": """
        package mathx

        import "testing"

        func TestAdd(t *testing.T) {
            if Add(1, 2) != 3 {
                t.Fatal("add")
            }
        }

        func TestAddZero(t *testing.T) {
            if Add(0, 0) != 0 {
                t.Fatal("add zero")
            }
        }
        """,
    "lib/calc/calc.go": """
        package calc

        import "example.com/lib/mathx"

        var double = func(x int) int { return 2 * x }

        func Square(x int) int { return mathx.Mul(x, x) }

        func Twice(x int) int {
            f := func() int {
                if x > 100 {
                    return 0
                }
                return double(x)
            }
            return f()
        }
        """,
    "lib/calc/calc_test.go": """
        package calc

        import "testing"

        func TestSquare(t *testing.T) {
            if Square(3) != 9 {
                t.Fatal("square")
            }
        }
        """,
    "lib/nothing/nothing.go": """
        package nothing

        func Unused(x int) int {
            if x > 1 {
                return x
            }
            return -x
        }
        """,
    "svc/go.mod": (
        "module example.com/svc\n\ngo 1.21\n\nrequire example.com/lib v0.0.0\n\n"
        "replace example.com/lib => ../lib\n"
    ),
    "svc/api/api.go": """
        package api

        import "example.com/lib/mathx"

        type Server struct{ base int }

        func (s Server) Handle(n int) int {
            if n < 0 {
                return -1
            }
            return mathx.Add(n, s.base)
        }
        """,
    "svc/api/api_test.go": """
        package api

        import "testing"

        func TestHandle(t *testing.T) {
            if (Server{1}).Handle(1) != 2 {
                t.Fatal("handle")
            }
        }

        func TestHandleSub(t *testing.T) {
            t.Run("negative", func(t *testing.T) {
                if (Server{}).Handle(-5) != -1 {
                    t.Fatal("negative")
                }
            })
        }
        """,
    "svc/cmd/server/main.go": """
        package main

        import "example.com/svc/api"

        func main() { println(api.Server{}.Handle(2)) }
        """,
}

PACKAGES = (
    "example.com/lib/calc",
    "example.com/lib/mathx",
    "example.com/lib/nothing",
    "example.com/svc/api",
    "example.com/svc/cmd/server",
)


def module_env(go_binary: Path, shared: dict[str, Path]) -> dict[str, str]:
    """The same hermetic environment as the ``go_env`` fixture, for module-scoped fixtures."""
    return hermetic_env(go_binary, shared)


def make_monorepo(root: Path, env: dict[str, str]) -> GoRepo:
    repo = GoRepo(root, env)
    repo.write_files(FILES)
    repo.commit("monorepo")
    return repo


def unsharded_profile(
    repo: GoRepo, out: Path, coverpkg: bool = True, modules: tuple[str, ...] = ("lib", "svc")
) -> Path:
    """One plain ``go test [-coverpkg=<module>/...] -coverprofile`` per module, concatenated.

    That is what a person would run by hand without goci: the reference total.
    """
    lines = ["mode: set\n"]
    for module in modules:
        part = out.with_name(f"{out.name}.{module}")
        flags = [f"-coverpkg=example.com/{module}/..."] if coverpkg else []
        repo.go("test", *flags, f"-coverprofile={part}", "./...", cwd=module)
        lines += part.read_text().splitlines(keepends=True)[1:]
    out.write_text("".join(lines))
    return out
