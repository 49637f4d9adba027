#!@PYTHON@
"""pgha-reconcile: applies this host's bundle from the instance metadata service.

Rendered by pgha. Run by pgha-reconcile.timer (and once by cloud-init at first boot, with
--first-boot, before any service starts). What it may write, with which owner and mode, and what a
change triggers, is fixed in its configuration file at first boot; the bundle only carries content.

A run: fetch the bundle (OCI IMDS v2: `Authorization: Bearer Oracle`); refuse it when it is too
large, badly encoded, for another host, its hash does not match, or it names a path, owner or mode
the configuration does not allow (the host keeps its files, the refusal is logged and recorded);
when it changed, rotate role passwords (the primary alters the role once, with a SCRAM verifier;
a replica waits until the change has reached its own catalog, so it never asks the primary with a
password the primary does not know yet); write every file whose content differs, atomically
(temporary file in the same directory, owner and mode set, fsync, rename); reload what needs it;
record the result in state.json. Only the standard library is used (python 3.6+).
"""

import base64
import binascii
import fcntl
import hashlib
import hmac
import json
import os
import pwd
import grp
import socket
import subprocess
import sys
import time
import unicodedata
import urllib.error
import urllib.request
import zlib

CONFIG = "@CONFIG@"
PREFIX = "pgha-bundle-1"
FORMAT = "pgha-bundle/1"
MAX_PAYLOAD = 4 << 20


def log(message):
    print("pgha-reconcile: " + message, flush=True)


class Refused(Exception):
    """The bundle is not applied; the host keeps its current files."""


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ------------------------------------------------------------------------------------------------
# Fetching and checking


def fetch(cfg, timeout):
    """The metadata value as bytes, None when the key is not set (404)."""
    request = urllib.request.Request(
        cfg["metadata_url"], headers={"Authorization": "Bearer Oracle"}
    )
    # The metadata service is link-local: never through a proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.read(cfg["max_bytes"] + 1)
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def decode(cfg, raw):
    """(hash, document) of a metadata value, or Refused."""
    if len(raw) > cfg["max_bytes"]:
        raise Refused(
            "the bundle is over {} bytes (the metadata limit)".format(cfg["max_bytes"])
        )
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        raise Refused("the bundle is not ASCII text")
    parts = text.split(":", 2)
    if len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 64:
        raise Refused("not a pgha bundle (it must start with {}:<sha256>:)".format(PREFIX))
    expected = parts[1]
    try:
        compressed = base64.b64decode(parts[2], validate=True)
    except (binascii.Error, ValueError) as e:
        raise Refused("broken base64 encoding: {}".format(e))
    try:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        payload = inflate.decompress(compressed, MAX_PAYLOAD)
        if inflate.unconsumed_tail:
            raise Refused("the payload is over {} bytes uncompressed".format(MAX_PAYLOAD))
        if not inflate.eof:
            raise Refused("the compressed payload is truncated")
    except zlib.error as e:
        raise Refused("broken compressed payload: {}".format(e))
    actual = sha256_hex(payload)
    if actual != expected:
        raise Refused("payload hash {} differs from the {} it names".format(actual, expected))
    try:
        doc = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise Refused("the payload is not JSON: {}".format(e))
    check(cfg, doc)
    return expected, doc


def check(cfg, doc):
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise Refused("the payload is not a {} document".format(FORMAT))
    if doc.get("host") != cfg["host"]:
        raise Refused("the bundle is for host {!r}, this is {!r}".format(doc.get("host"), cfg["host"]))
    files = doc.get("files")
    if not isinstance(files, list):
        raise Refused("the payload has no file list")
    seen = set()
    for f in files:
        if not isinstance(f, dict) or not all(
            isinstance(f.get(k), str) for k in ("path", "mode", "owner", "group", "sha256", "content")
        ):
            raise Refused("a file entry is incomplete")
        path = f["path"]
        allowed = cfg["files"].get(path)
        if allowed is None:
            raise Refused("{} is not a file this host takes from its bundle".format(path))
        if path in seen:
            raise Refused("{} is in the bundle twice".format(path))
        seen.add(path)
        for key in ("mode", "owner", "group"):
            if f[key] != allowed[key]:
                raise Refused(
                    "{}: {} {!r}, the host expects {!r}".format(path, key, f[key], allowed[key])
                )
        if sha256_hex(f["content"].encode("utf-8")) != f["sha256"]:
            raise Refused("{}: content does not match its sha256".format(path))
    roles = doc.get("roles", [])
    if not isinstance(roles, list) or not all(
        isinstance(r, dict) and isinstance(r.get("role"), str) and isinstance(r.get("password"), str)
        for r in roles
    ):
        raise Refused("the role list is malformed")


# ------------------------------------------------------------------------------------------------
# Role passwords


def normalized(password):
    # PostgreSQL prepares SCRAM passwords with SASLprep; NFKC is its normalisation step, and
    # ASCII passwords are unchanged by it.
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def verifier_matches(stored, role, password):
    """Whether pg_authid.rolpassword `stored` accepts `password`."""
    if stored.startswith("SCRAM-SHA-256$"):
        try:
            head, keys = stored[len("SCRAM-SHA-256$"):].split("$", 1)
            iterations, salt = head.split(":", 1)
            stored_key = keys.split(":", 1)[0]
            salted = hashlib.pbkdf2_hmac(
                "sha256", normalized(password), base64.b64decode(salt), int(iterations)
            )
        except (ValueError, binascii.Error):
            return False
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        mine = base64.b64encode(hashlib.sha256(client_key).digest()).decode("ascii")
        return hmac.compare_digest(mine, stored_key)
    if stored.startswith("md5"):
        mine = "md5" + hashlib.md5((password + role).encode("utf-8")).hexdigest()
        return hmac.compare_digest(mine, stored)
    return False


def scram_verifier(password, iterations=4096):
    """A SCRAM-SHA-256 verifier, so the password itself never reaches the server or its logs."""
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", normalized(password), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode("ascii")
    return "SCRAM-SHA-256${}:{}${}:{}".format(iterations, b64(salt), b64(stored_key), b64(server_key))


def psql(cfg, sql, variables):
    """psql's unaligned output, as the PostgreSQL account over the local socket; None when the
    server cannot be reached."""
    pg = cfg["postgres"]
    cmd = [
        "runuser", "-u", pg["os_user"], "--", pg["psql"], "-X", "-A", "-t", "-q",
        "-v", "ON_ERROR_STOP=1", "-h", pg["socket_dir"], "-p", str(pg["port"]),
        "-U", pg["superuser"], "-d", "postgres",
    ]
    for name, value in variables:
        cmd += ["-v", "{}={}".format(name, value)]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8", "PGCONNECT_TIMEOUT": "5"}
    try:
        p = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        out, err = p.communicate(sql.encode("utf-8"), timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        log("psql: {}".format(e))
        return None
    if p.returncode != 0:
        log("psql: {}".format(err.decode("utf-8", "replace").strip()))
        return None
    return out.decode("utf-8", "replace")


def rotate(cfg, roles):
    """None when every role takes its password here, else why this host has to wait."""
    waiting = []
    for r in roles:
        role, password = r["role"], r["password"]
        out = psql(
            cfg,
            "SELECT pg_is_in_recovery(), coalesce((SELECT rolpassword FROM pg_authid "
            "WHERE rolname = :'role'), '<none>');\n",
            [("role", role)],
        )
        if out is None:
            # PostgreSQL is not running here: the files are all it needs when it starts.
            log("PostgreSQL is not reachable; role {} is not checked".format(role))
            continue
        recovery, _, stored = out.strip().partition("|")
        if stored == "<none>":
            log("role {} does not exist (yet); nothing to rotate".format(role))
            continue
        if verifier_matches(stored, role, password):
            continue
        if recovery == "f":
            sql = "ALTER ROLE :\"role\" PASSWORD '{}';\n".format(scram_verifier(password))
            if psql(cfg, sql, [("role", role)]) is None:
                waiting.append("changing the password of role {} failed".format(role))
            else:
                log("changed the password of role {} (this host is the primary)".format(role))
        else:
            waiting.append(
                "the new password of role {} has not reached this replica yet".format(role)
            )
    return "; ".join(waiting) or None


# ------------------------------------------------------------------------------------------------
# Writing and reloading


def on_disk(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        return None


def differs(f):
    data = on_disk(f["path"])
    if data is None or sha256_hex(data) != f["sha256"]:
        return True
    st = os.stat(f["path"])
    try:
        owner, group = pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        return True
    return (st.st_mode & 0o7777) != int(f["mode"], 8) or owner != f["owner"] or group != f["group"]


def write_atomically(f):
    path = f["path"]
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    tmp = os.path.join(directory, ".{}.pgha-{}".format(os.path.basename(path), os.getpid()))
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_EXCL, 0o600)
    try:
        os.write(fd, f["content"].encode("utf-8"))
        os.fchown(fd, pwd.getpwnam(f["owner"]).pw_uid, grp.getgrnam(f["group"]).gr_gid)
        os.fchmod(fd, int(f["mode"], 8))
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.rename(tmp, path)
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def systemctl(*args):
    r = subprocess.call(["systemctl"] + list(args))
    if r != 0:
        log("systemctl {} failed with exit code {}".format(" ".join(args), r))
    return r == 0


def reload_all(cfg, reloads, timers):
    units = cfg["units"]
    ok = True
    if reloads & {"daemon-reload", "restart-timer"}:
        ok &= systemctl("daemon-reload")
    for timer in sorted(timers):
        ok &= systemctl("restart", timer)
    if "resolver" in reloads and units.get("resolver"):
        ok &= systemctl("restart", units["resolver"])
    if reloads & {"patroni", "resolver"}:
        if subprocess.call(["systemctl", "is-active", "--quiet", units["patroni"]]) == 0:
            ok &= systemctl("reload", units["patroni"])
        else:
            log("{} is not running: it reads the new files when it starts".format(units["patroni"]))
    return ok


# ------------------------------------------------------------------------------------------------
# State


def load_state(cfg):
    try:
        with open(os.path.join(cfg["state_dir"], "state.json")) as f:
            state = json.load(f)
        return state if isinstance(state, dict) else {}
    except (FileNotFoundError, ValueError):
        return {}


def save_state(cfg, state):
    path = os.path.join(cfg["state_dir"], "state.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=2, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def record(cfg, state, result, message, **extra):
    state.update(extra)
    state["checked_at"] = now()
    if state.get("result") != result or state.get("message") != message:
        log("{}: {}".format(result, message))
    state["result"] = result
    state["message"] = message
    save_state(cfg, state)


# ------------------------------------------------------------------------------------------------


def fetch_value(cfg, first_boot):
    """(value, None) or (None, why not). At first boot, retried with back-off (5 s doubling to
    60 s) until the first-boot deadline: the services wait for their files."""
    deadline = time.monotonic() + (cfg["first_boot_timeout_seconds"] if first_boot else 0)
    delay, attempt = 5, 1
    while True:
        try:
            raw = fetch(cfg, 5 if first_boot else 15)
            if raw is not None:
                return raw, None
            problem = "the instance metadata has no {} key".format(cfg["metadata_key"])
        except (urllib.error.URLError, OSError, socket.timeout) as e:
            problem = "the metadata service is not reachable at {}: {}".format(
                cfg["metadata_url"], getattr(e, "reason", e))
        if time.monotonic() + delay > deadline:
            return None, problem
        log("{} (attempt {}); retrying in {}s".format(problem, attempt, delay))
        time.sleep(delay)
        attempt += 1
        delay = min(delay * 2, 60)


def run(cfg, first_boot):
    state = load_state(cfg)
    raw, problem = fetch_value(cfg, first_boot)
    if raw is None:
        if first_boot:
            record(cfg, state, "failed", problem + "; the host has no configuration yet")
            return 1
        record(cfg, state, "unchanged", problem + "; keeping the current files")
        return 0
    try:
        digest, doc = decode(cfg, raw)
    except Refused as e:
        record(cfg, state, "refused", "{}; keeping the current files".format(e),
               refused_hash=sha256_hex(raw))
        return 1

    changed = [f for f in doc["files"] if differs(f)]
    if digest == state.get("applied_hash") and not changed:
        record(cfg, state, "unchanged", "bundle {} is applied".format(digest[:12]))
        return 0
    if not first_boot and digest != state.get("applied_hash") and doc.get("roles"):
        waiting = rotate(cfg, doc["roles"])
        if waiting:
            record(cfg, state, "waiting", "bundle {}: {}; trying again at the next run".format(digest[:12], waiting))
            return 0
    reloads, timers = set(), set()
    for f in changed:
        write_atomically(f)
        action = cfg["files"][f["path"]]["reload"]
        reloads.add(action)
        if action == "restart-timer":
            timers.add(os.path.basename(f["path"]))
        log("wrote {} ({} bytes, {}:{}, {})".format(
            f["path"], len(f["content"].encode("utf-8")), f["owner"], f["group"], f["mode"]))
    ok = True
    if not first_boot:
        ok = reload_all(cfg, reloads, timers)
    message = "bundle {}: {} file(s) written{}".format(
        digest[:12], len(changed), "" if ok else "; a reload failed (see above)")
    record(cfg, state, "applied" if ok else "reload-failed", message,
           applied_hash=digest, applied_at=now(), refused_hash=None)
    return 0 if ok else 1


def main(argv):
    first_boot = "--first-boot" in argv[1:]
    config = CONFIG
    for a in argv[1:]:
        if a.startswith("--config="):
            config = a[len("--config="):]
    with open(config) as f:
        cfg = json.load(f)
    os.makedirs(cfg["state_dir"], mode=0o700, exist_ok=True)
    with open(os.path.join(cfg["state_dir"], "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return run(cfg, first_boot)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
