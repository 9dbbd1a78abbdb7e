"""The GitHub compare API, the last resort when a shallow clone cannot reach the merge base.

It gives the list of changed files (and the merge base's SHA) without any history on disk.
The API returns at most 300 files; a longer list is incomplete and is refused, so that the
caller answers "everything" rather than a partial set.
"""

from __future__ import annotations

from goci.changed.diff import FileChange
from goci.errors import ToolError

API_FILE_LIMIT = 300


def compare_files(
    repository: str, base: str, head: str, *, api_url: str, token: str = ""
) -> tuple[str | None, tuple[FileChange, ...]] | None:
    """Merge base SHA and changed files between ``base`` and ``head``; None when unknowable.

    ``repository`` (owner/name), ``api_url`` and ``token`` are what Actions sets in every job
    (:class:`goci.ci_env.CiEnv` reads them).
    """
    if not repository:
        return None
    import github  # heavy: loaded only when a shallow clone needs it

    auth = github.Auth.Token(token) if token else None
    client = github.Github(auth=auth, base_url=api_url, lazy=True, retry=None, timeout=30)
    try:
        comparison = client.get_repo(repository).compare(base, head)
        raw_files = list(comparison.files)
        merge_base = comparison.merge_base_commit.sha
    except github.GithubException as exc:
        raise ToolError(f"GitHub compare {base}...{head} failed: HTTP {exc.status}") from exc
    except OSError as exc:
        raise ToolError(f"GitHub compare {base}...{head} failed: {exc}") from exc
    finally:
        client.close()
    if len(raw_files) >= API_FILE_LIMIT:
        return None
    files: list[FileChange] = []
    for item in raw_files:
        status = item.status
        if status == "renamed" or (status == "copied" and item.previous_filename):
            if status == "renamed":
                files.append(FileChange("D", item.previous_filename))
            files.append(FileChange("A", item.filename))
        elif status == "added":
            files.append(FileChange("A", item.filename))
        elif status == "removed":
            files.append(FileChange("D", item.filename))
        elif status != "unchanged":
            files.append(FileChange("M", item.filename))
    return merge_base, tuple(files)
