"""``goci pr-comment``: the report as one pull-request comment, edited in place each push."""

from __future__ import annotations

from goci.command import Command, Context, Result
from goci.coverage import prcomment
from goci.errors import InputError, bad_input
from goci.options import Options, option

OUTPUTS = ("comment-url", "action")
_LIMIT = 65_000  # GitHub refuses a comment body over 65,536 characters


class PrCommentOptions(Options):
    body_file: tuple[str, ...] = option(
        kind="list",
        default=[],
        help="Markdown files, joined, that make the comment",
        metavar="FILE",
    )
    number: int = option(
        kind="int", default=0, help="the pull request (default: the one of the CI event)"
    )
    github_token: str = option(
        secret=True, default="", help="token with pull-requests: write (default: GITHUB_TOKEN)"
    )


def _from_fork(payload: object) -> bool:
    pr = payload.get("pull_request") if isinstance(payload, dict) else None
    head = ((pr or {}).get("head") or {}).get("repo") or {}
    base = ((pr or {}).get("base") or {}).get("repo") or {}
    return bool(head.get("fork")) or (
        bool(head.get("full_name")) and head.get("full_name") != base.get("full_name")
    )


def run(opts: PrCommentOptions, ctx: Context) -> Result:
    token = opts.github_token or ctx.ci.token
    if token:
        ctx.runtime.mask(token)
    pr = ctx.ci.payload.get("pull_request") or {}
    number = opts.number or int(pr.get("number") or 0)
    if number <= 0:
        return Result(
            outputs={"comment-url": "", "action": "none"}, report="not a pull request: no comment"
        )
    if not opts.body_file:
        raise InputError("--body-file: give the Markdown file(s) that make the comment")
    parts = []
    for name in opts.body_file:
        path = ctx.path(name)
        if not path.is_file():
            raise bad_input("--body-file", name, "an existing Markdown file")
        parts.append(path.read_text(encoding="utf-8", errors="replace").strip())
    body = "\n\n".join(parts)
    if len(body) > _LIMIT:
        body = body[:_LIMIT] + "\n\n…(cut: the whole report is in the run's summary)"
    if not token and _from_fork(ctx.ci.payload):
        # Secrets are not given to a pull request from a fork (a repository secret as
        # GOCI_COMMENT_TOKEN arrives empty): the same case as the read-only token below.
        ctx.runtime.warning("no pull-request comment: a pull request from a fork gets no secrets")
        return Result(
            outputs={"comment-url": "", "action": "none"},
            report="no comment: a pull request from a fork gets no token",
        )
    if not token or not ctx.ci.repository:
        raise InputError(
            "pr-comment: needs --github-token (or GITHUB_TOKEN; in go-ci.yml the secret "
            "GOCI_COMMENT_TOKEN) and GITHUB_REPOSITORY"
        )
    try:
        posted = prcomment.post(
            body, token=token, repository=ctx.ci.repository, number=number, api_url=ctx.ci.api_url
        )
    except prcomment.Forbidden as exc:
        if _from_fork(ctx.ci.payload):
            ctx.runtime.warning(
                "no pull-request comment: a pull request from a fork gets a read-only token"
            )
            return Result(outputs={"comment-url": "", "action": "none"}, report=str(exc))
        raise InputError(
            f"pr-comment: {exc}; the job needs `pull-requests: write` (grant it to the job that "
            "calls go-ci.yml, with comment: true)"
        ) from None
    note = f" ({posted.removed} duplicate of a concurrent run removed)" if posted.removed else ""
    return Result(
        outputs={"comment-url": posted.url, "action": posted.action},
        report=f"pull request #{number}: comment {posted.action}: {posted.url}{note}",
    )


COMMAND = Command(
    path=("pr-comment",),
    help="post the report as one pull-request comment, updated in place on every push",
    settings=PrCommentOptions,
    outputs=OUTPUTS,
    run=run,
)
