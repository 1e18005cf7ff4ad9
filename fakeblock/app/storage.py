"""Videos, photos and results in object storage: ``--source`` and ``--summary``
given as URLs (``s3://bucket/prefix/``, or any other store fsspec knows and
whose package is installed: ``gs://`` with gcsfs, ``az://`` with adlfs...).

Credentials and the endpoint come from where the store's own library looks
(for S3: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``~/.aws``), never from the command line. A remote video or photo is copied to
this machine's temporary space, analysed there and removed; results are
written locally and then uploaded through a hidden staging folder, the
summary last, so a result folder with its ``summary.json`` is whole.
Every failure of the store is one line naming the URL (:func:`store_errors`).
"""

import contextlib
import os
import posixpath
import re
import tempfile
from pathlib import Path, PurePosixPath

from ..core.errors import FakeBlockError, InputError, MissingInstallError, first_line, install_hint

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

#: How long to wait for an endpoint to answer, and how many tries a request gets.
S3_CONFIG = {"connect_timeout": 5, "read_timeout": 60, "retries": {"max_attempts": 3}}

#: The file a result folder gets last: a folder with it is whole.
SUMMARY = "summary.json"


def is_url(spec) -> bool:
    """Whether ``spec`` (a flag's value) names a place in object storage."""
    return isinstance(spec, str) and bool(_URL.match(spec)) and not spec.lower().startswith("file://")


def url_name(url: str) -> PurePosixPath:
    """The path part of ``url``, whose ``name`` and ``stem`` are the object's."""
    return PurePosixPath(url.split("://", 1)[1].rstrip("/") or "/")


def join(url: str, *names: str) -> str:
    """``url`` with ``names`` appended (``join("s3://b/run/", "clip")``: ``s3://b/run/clip``)."""
    return posixpath.join(url.rstrip("/"), *names)


def filesystem(url: str):
    """``(fs, path)``: the fsspec filesystem that holds ``url`` and the path in
    it. One line where the URL is not one or its package is missing."""
    try:
        import fsspec
    except ImportError:
        raise MissingInstallError(f"{url}: object storage needs the scale extra: {install_hint('scale')}") from None
    protocol = url.split("://", 1)[0].lower()
    options = {"config_kwargs": S3_CONFIG} if protocol in ("s3", "s3a") else {}
    try:
        fs, path = fsspec.core.url_to_fs(url, **options)
    except ImportError as e:
        raise MissingInstallError(f"{url}: {first_line(e)} (S3 comes with the scale extra: "
                                  f"{install_hint('scale')})") from None
    except ValueError as e:
        raise InputError(f"{url}: not a storage URL this app knows ({first_line(e)})") from None
    if not path.strip("/"):
        raise InputError(f"{url}: names no bucket (write s3://BUCKET/FOLDER/)")
    return fs, path.rstrip("/")


@contextlib.contextmanager
def store_errors(url: str, doing: str = "cannot read"):
    """Turn what a store raises into one line naming ``url``: wrong credentials,
    a missing bucket or object, an endpoint that does not answer."""
    try:
        yield
    except FakeBlockError:
        raise
    except PermissionError:
        raise InputError(f"{url}: {doing}: access denied (check the credentials: AWS_ACCESS_KEY_ID and "
                         "AWS_SECRET_ACCESS_KEY, or ~/.aws, and what they are allowed)") from None
    except FileNotFoundError as e:
        what = "no such bucket" if "bucket" in str(e).lower() else "not found"
        raise InputError(f"{url}: {doing}: {what}") from None
    except Exception as e:  # noqa: BLE001 -- botocore, aiohttp and the stores raise many types for one failure
        name = type(e).__name__
        reason = e.strerror if isinstance(e, OSError) and e.strerror else first_line(e)
        if "Connect" in name or "Endpoint" in name or "Timeout" in name:
            endpoint = os.environ.get("AWS_ENDPOINT_URL", "the store's own")
            reason = f"the storage endpoint does not answer (AWS_ENDPOINT_URL: {endpoint})"
        raise InputError(f"{url}: {doing}: {reason}") from None


def entries(url: str) -> tuple:
    """``("folder", [file URLs])`` or ``("file", [url])`` for ``url``; one line
    where it does not exist or cannot be listed."""
    fs, path = filesystem(url)
    scheme = url.split("://", 1)[0]
    with store_errors(url):
        if fs.isdir(path):
            files = sorted(f["name"] for f in fs.ls(path, detail=True) if f["type"] == "file")
            return "folder", [f"{scheme}://{f}" for f in files]
        if fs.isfile(path):
            return "file", [url]
        fs.ls(posixpath.dirname(path) or path)  # a missing bucket says so here
    raise InputError(f"{url}: no such file or folder")


@contextlib.contextmanager
def local_copies(urls, folder_name: str = ""):
    """Copy ``urls`` into a temporary folder of this machine and yield that
    folder (each file under its own name); removed when the block ends. An
    error raised in the block names each file by its URL, not its copy."""
    with tempfile.TemporaryDirectory(prefix="fakeblock-") as temporary:
        folder = Path(temporary) / folder_name if folder_name else Path(temporary)
        folder.mkdir(exist_ok=True)
        copies = {str(folder / url_name(url).name): url for url in urls}
        for copy, url in copies.items():
            fs, path = filesystem(url)
            with store_errors(url):
                fs.get_file(path, copy)
        try:
            yield folder
        except FakeBlockError as e:
            message = str(e)
            for copy, url in copies.items():
                message = message.replace(copy, url)
            raise type(e)(message, e.exit_code) from None


@contextlib.contextmanager
def local_copy(video):
    """A remote video copied to this machine for the block (a local path: itself)."""
    if not is_url(str(video)):
        yield Path(video)
        return
    with local_copies([str(video)]) as folder:
        yield folder / url_name(str(video)).name


def check_writable(url: str, probe: str):
    """Fail in one line, before any work, where nothing can be written at ``url``
    (a missing bucket, read-only credentials): writes the empty object ``probe``
    under it (removed by the caller, or kept as a marker)."""
    fs, path = filesystem(url)
    with store_errors(url, "cannot write there"):
        fs.pipe_file(f"{path}/{probe}", b"")


def upload_folder(folder: Path, url: str, staging: str, replace: bool = True):
    """Put the files of ``folder`` at ``url`` (a folder there), through
    ``staging`` (outside it) and with ``summary.json`` last: the folder at
    ``url`` has its summary only once every other file is in place. ``replace``:
    remove what was there first (a video's own result folder), else write over
    files of the same names only."""
    fs, path = filesystem(url)
    _, staged = filesystem(staging)
    files = sorted((p for p in folder.rglob("*") if p.is_file()), key=lambda p: (p.name == SUMMARY, str(p)))
    with store_errors(url, "cannot write there"):
        for file in files:
            fs.put_file(str(file), f"{staged}/{file.relative_to(folder).as_posix()}")
        fs.invalidate_cache(path)  # another run may have written it since this one listed
        if replace and fs.exists(path):  # an older result (--redo): no mix of the two
            fs.rm(path, recursive=True)
        for file in files:
            name = file.relative_to(folder).as_posix()
            fs.copy(f"{staged}/{name}", f"{path}/{name}")
        fs.rm(staged, recursive=True)


@contextlib.contextmanager
def results_folder(summary):
    """A local folder for ``--summary``: itself, or for a URL a temporary one
    whose files are uploaded there when the block ends (also after Ctrl-C:
    what finished is kept)."""
    if not is_url(summary):
        yield summary
        return
    check_writable(summary, ".fakeblock-write-check")
    fs, path = filesystem(summary)
    with store_errors(summary, "cannot write there"):
        fs.rm_file(f"{path}/.fakeblock-write-check")
    with tempfile.TemporaryDirectory(prefix="fakeblock-") as temporary:
        try:
            yield temporary
        finally:
            if any(Path(temporary).iterdir()):
                staging = join(posixpath.dirname(summary.rstrip("/")), f".{url_name(summary).name}.partial-"
                               f"{Path(temporary).name}")
                upload_folder(Path(temporary), summary, staging, replace=False)


def remove(url: str):
    """Remove the folder or object at ``url`` if it is there (what a run staged)."""
    fs, path = filesystem(url)
    with store_errors(url, "cannot remove"), contextlib.suppress(FileNotFoundError):  # gone meanwhile: done
        if fs.exists(path):
            fs.rm(path, recursive=True)

