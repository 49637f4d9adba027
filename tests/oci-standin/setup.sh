#!/usr/bin/env bash
# Makes the OCI Object Storage stand-in runnable: it needs Python 3 with the
# `cryptography` package. We use Debian's python3-cryptography (installed
# with apt when missing) rather than a venv, so that no network access to
# PyPI is needed at test time.
#
# Prints the interpreter the tests should use on stdout. Tests read
# $PGHA_STANDIN_PYTHON first, then fall back to /usr/bin/python3.
set -euo pipefail

python=${PGHA_STANDIN_PYTHON:-/usr/bin/python3}

if ! "$python" -c 'import cryptography' 2>/dev/null; then
    if [ "$python" != /usr/bin/python3 ]; then
        echo "$python cannot import cryptography; install it for that interpreter or unset PGHA_STANDIN_PYTHON" >&2
        exit 1
    fi
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get install -y --no-install-recommends python3 python3-cryptography >&2
fi

"$python" -c 'import cryptography, sys; sys.stderr.write("cryptography %s on Python %s\n" % (cryptography.__version__, sys.version.split()[0]))'
echo "$python"
