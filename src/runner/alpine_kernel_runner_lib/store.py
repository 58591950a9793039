"""The namespace store on disk: one directory per session (and one per detached cell's snapshot).

    STORE/index.json          what the namespace holds (JSON; the server reads it for %whos and
                              to snapshot the store, see docs/cell-runner.md)
    STORE/r-GGGGGG-XXXXXXXX.pkl   a record: the in-band pickle of one or more names that share
                              objects (one pickler, so shared references stay shared)
    STORE/b-GGGGGG-XXXXXXXX.bin   one large buffer (a numpy/pandas block) of a record, raw bytes,
                              memory-mapped copy-on-write when the record is loaded

Every data file is written once under a new name and never changed: a value that changes gets new
files, a value that does not keeps its files (and a detached cell's snapshot can be hard links).
The index is replaced atomically (temporary file, fsync, rename), so a job killed mid-save leaves
the previous namespace whole; files no index names are garbage, removed after each commit.
"""
import json
import os
import shutil

FORMAT = "alpine-kernel namespace 2"
INDEX = "index.json"
# In a store seeded from another until its own cell saves it: its names are still only the seed's.
SEEDED = "seeded"
_PRIVATE_FILE = 0o600
_PRIVATE_DIR = 0o700


class StoreError(Exception):
    """The store's index cannot be read (damaged, or written by an unknown version)."""


def empty_index():
    return {"format": FORMAT, "generation": 0, "names": {}, "records": {}, "files": {}, "sources": {}}


def read_index(store_dir):
    """The committed index, or None when the store has none yet."""
    path = os.path.join(store_dir, INDEX)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StoreError("cannot read %s: %s" % (path, e))
    try:
        index = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        raise StoreError("%s is damaged: %s" % (path, e))
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise StoreError("%s is not an index this runner can read (format %r)" % (path, _format_of(index)))
    for key, kind in (("names", dict), ("records", dict), ("files", dict), ("sources", dict), ("generation", int)):
        if not isinstance(index.get(key), kind):
            raise StoreError("%s is damaged: %s is missing" % (path, key))
    problem = _inconsistency(index)
    if problem:
        raise StoreError("%s is damaged: %s" % (path, problem))
    return index


def _inconsistency(index):
    """What makes an index unusable (a name without its record, a record without its files), or None."""
    records, files = index["records"], index["files"]
    for name, entry in index["names"].items():
        if not isinstance(entry, dict):
            return "the entry of %s is not an object" % name
        if not isinstance(entry.get("module"), str) and entry.get("record") not in records:
            return "%s names no module and no known record" % name
    for record_id, record in records.items():
        try:
            parts = [record["file"]] + [ref[0] for ref in record["buffers"]]
            consistent = len(record["starts"]) == len(record["names"]) and all(p in files for p in parts)
        except (KeyError, TypeError, IndexError):
            consistent = False
        if not consistent:
            return "record %s is incomplete" % record_id
    return None


def _format_of(index):
    return index.get("format") if isinstance(index, dict) else type(index).__name__


def current_generation(store_dir):
    """The generation of the index on disk now (None: no index), to notice a reset store."""
    try:
        index = read_index(store_dir)
    except StoreError:
        return -1
    return None if index is None else index["generation"]


def ensure_dir(store_dir):
    os.makedirs(store_dir, mode=_PRIVATE_DIR, exist_ok=True)


def seed(store_dir, seed_dir):
    """Starts store_dir afresh as a copy of seed_dir's namespace (an array task's own store, from
    the snapshot its array was submitted with; again when the task is requeued): the data files
    hard-linked (they never change in place), copied where links fail, then the index. A seed
    without an index leaves the store empty. StoreError when the seed's index cannot be read.
    The SEEDED mark stays until the store's own cell has saved it (`%slurm gather` then knows a
    task that never got there from one that did)."""
    ensure_dir(store_dir)
    with open(os.path.join(store_dir, SEEDED), "wb"):
        pass
    index = read_index(seed_dir)
    if index is None:
        remove_quietly(os.path.join(store_dir, INDEX))
        return
    for name in index["files"]:
        source, target = os.path.join(seed_dir, name), os.path.join(store_dir, name)
        if os.path.exists(target):
            continue  # names are never reused: the same file
        try:
            os.link(source, target)
        except FileNotFoundError:
            continue  # the loader says the name is lost
        except OSError:
            try:
                shutil.copyfile(source, target)
                os.chmod(target, _PRIVATE_FILE)
            except FileNotFoundError:
                continue
    write_index(store_dir, index)


def new_name(kind, generation, suffix):
    """A data file name never used before: r-/b- prefix, the generation writing it, 32 random bits."""
    return "%s-%06d-%s%s" % (kind, generation, os.urandom(4).hex(), suffix)


def create_file(store_dir, name):
    """A new private data file opened for writing (it must not exist)."""
    fd = os.open(os.path.join(store_dir, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, _PRIVATE_FILE)
    return os.fdopen(fd, "wb")


def finish_file(f):
    f.flush()
    os.fsync(f.fileno())
    size = f.tell()
    f.close()
    return size


def write_index(store_dir, index):
    """Commits index: written beside, fsynced, renamed over the old one."""
    path = os.path.join(store_dir, INDEX)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    data = json.dumps(index, ensure_ascii=True, separators=(",", ":"), sort_keys=True).encode("ascii")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE_FILE)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    return len(data)


def collect_garbage(store_dir, index):
    """Removes every file of the store that the index does not name (old values, names deleted,
    files of a save that was killed). Returns the number of files removed."""
    keep = set(index["files"])
    keep.add(INDEX)
    removed = 0
    try:
        entries = list(os.scandir(store_dir))
    except OSError:
        return 0
    for entry in entries:
        # .nfsXXXX: NFS keeps a removed file that a process still has open under that name.
        if entry.name in keep or entry.name.startswith(".nfs"):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.remove(entry.path)
                removed += 1
        except OSError:
            pass
    return removed


def store_bytes(index):
    return sum(index["files"].values())


def remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def set_aside(store_dir):
    """Moves a store whose index cannot be read out of the way (its files may still be rescued);
    returns the new path, or None when it could not be moved."""
    for n in range(1, 100):
        target = "%s.unrestored-%d" % (store_dir.rstrip(os.sep), n)
        if os.path.exists(target):
            continue
        try:
            os.rename(store_dir, target)
            return target
        except OSError:
            return None
    return None
