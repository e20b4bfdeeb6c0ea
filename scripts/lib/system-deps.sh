# What the tests and the demo need from the machine beyond Python: a JDK 21+ and Maven for the
# Conductor server jar, Go for actionlint, and every Python version a generated project may use.
# Installed with apt-get when missing (the Docker tier installs docker.io itself).
source "$(dirname "${BASH_SOURCE[0]}")/python-from-debian.sh"

have_java21() {
  local java
  for java in "${JAVA_HOME:-/nonexistent}/bin/java" /usr/lib/jvm/*/bin/java "$(command -v java || true)"; do
    [ -x "$java" ] || continue
    "$java" -version 2>&1 | grep -Eq 'version "(2[1-9]|[3-9][0-9])' && return 0
  done
  return 1
}

ensure_system_deps() {
  local missing=()
  command -v mvn >/dev/null || missing+=(maven)
  have_java21 || missing+=(openjdk-21-jre-headless)
  command -v pgrep >/dev/null || missing+=(procps)
  # Go builds upstream actionlint from the generated tools/go.mod (Debian's go fetches the newer
  # toolchain that go.mod names through the Go module proxy).
  command -v go >/dev/null || missing+=(golang-go)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  local version
  for version in $(python3 -c 'import json; print(*json.load(open("cookiecutter.json"))["python_version"])'); do
    ensure_python "$version"
  done
}
