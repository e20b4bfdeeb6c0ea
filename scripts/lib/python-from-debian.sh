# A CPython the machine lacks (e.g. 3.14 on Debian bookworm, whose python3 is 3.11): Debian sid's binary
# packages of it and of the libraries it links (glibc included), unpacked (not installed) into a root
# of their own, the interpreter patched to load that root's glibc and libraries (patchelf). Nothing of
# the machine's own Debian changes. The bake tests find it there (harness/baked_project.py, python_for)
# and the docker tier copies the root into its Python stand-in at the same path.
# Only Debian's package archive is needed (no python.org, no GitHub); a CI runner with the version on
# PATH (actions/setup-python) never gets here.

CWT_PYTHON_DIR="${CWT_PYTHON_DIR:-/opt/conductor-worker-template/python}"
# The packages of one interpreter root: the interpreter and its standard library, venv/ensurepip with
# their wheels, and every shared library they link.
DEBIAN_PYTHON_LIBRARIES=(libc6 libgcc-s1 libbz2-1.0 libexpat1 libffi8 liblzma5 libmpdec4 libncursesw6
  libreadline8t64 libsqlite3-0 libssl3t64 libtinfo6 libuuid1 libzstd1 zlib1g python3-pip-whl python3-setuptools-whl)

have_python() {  # have_python 3.14: some interpreter of that version runs
  local version="$1" candidate
  for candidate in "$(command -v "python$version" || true)" \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python \
    "$CWT_PYTHON_DIR"/"$version".*/usr/bin/python"$version"; do
    [ -x "$candidate" ] && "$candidate" -c 'import ssl, sqlite3, zlib' 2>/dev/null && return 0
  done
  return 1
}

python_from_debian() {  # python_from_debian 3.14
  local version="$1" work sources full root
  command -v patchelf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq patchelf >/dev/null
  work="$(mktemp -d /tmp/cwt-python-XXXXXX)"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
  sources="$work/sources.list"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${DEBIAN_MIRROR:-http://deb.debian.org/debian} sid main" >"$sources"
  local apt=(-o "Dir::Etc::SourceList=$sources" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$work/lists"
    -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
  echo "installing CPython $version from Debian sid's packages into $CWT_PYTHON_DIR (once)" >&2
  apt-get "${apt[@]}" update -qq
  (cd "$work/debs" && apt-get "${apt[@]}" download -qq "python$version-minimal" "libpython$version-minimal" \
    "libpython$version-stdlib" "python$version-venv" "${DEBIAN_PYTHON_LIBRARIES[@]}")
  full="$(dpkg-deb -f "$work"/debs/python"$version"-minimal_*.deb Version | cut -d- -f1)"
  root="$CWT_PYTHON_DIR/$full"
  rm -rf "$root" && mkdir -p "$root"
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
  rm -rf "$work"
  patchelf --set-interpreter "$root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" \
    --force-rpath --set-rpath "$root/usr/lib/x86_64-linux-gnu" "$root/usr/bin/python$version"
  # ensurepip (python -m venv) takes pip from this root's wheels, not the machine's older ones.
  sed -i "s#'WHEEL_PKG_DIR': '/usr/share/python-wheels/'#'WHEEL_PKG_DIR': '$root/usr/share/python-wheels/'#" \
    "$root"/usr/lib/python"$version"/_sysconfigdata_*.py
  rm -f "$root/usr/lib/python$version/EXTERNALLY-MANAGED"
  "$root/usr/bin/python$version" -c 'import ssl, sqlite3, zlib, ctypes, sys; print("installed", sys.version)' >&2
}

# Byte-compile the standard library, as installing Debian's packages does (py3compile) and as Python's
# images ship it. Unpacked without it, every process compiles each stdlib module it imports from source
# (PYTHONDONTWRITEBYTECODE, or no write access): start-up and memory would measure the compiler.
compile_stdlib() {  # compile_stdlib /path/to/python3.X
  "$1" -m compileall -q -j 0 "$("$1" -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
}

ensure_python() {  # ensure_python 3.14
  have_python "$1" || python_from_debian "$1"
  # Every root of ours without a byte-compiled standard library (just unpacked, or unpacked before this
  # step existed) is compiled, once. os is frozen into the interpreter, so only compileall writes its .pyc
  # (any import may write others).
  local root_python
  for root_python in "$CWT_PYTHON_DIR"/"$1".*/usr/bin/python"$1"; do
    [ -x "$root_python" ] || continue
    [ -f "$(dirname "$root_python")/../lib/python$1/__pycache__/os.cpython-${1//./}.pyc" ] || compile_stdlib "$root_python"
  done
}
