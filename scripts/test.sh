#!/usr/bin/env bash
# Install the test needs (system packages when run as root, a virtual environment with the
# package and its test group) and run the whole suite. Used by the README and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(openssl softhsm2 default-jre-headless default-jdk-headless libbcprov-java libbcpkix-java libbcutil-java chromium fonts-wqy-microhei poppler-utils postgresql libaxis-java)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "scripts/test.sh: please install: ${missing[*]} (sudo apt-get install ...)" >&2
    exit 2
  fi
fi

VENV="${EZHIFU_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q -U pip
"$VENV/bin/python" -m pip install -q -e '.[all]' --group test --group lint

set +e
"$VENV/bin/python" -m pytest -n 2 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "scripts/test.sh: pytest collected no tests: failing" >&2
  exit 1
fi
exit "$rc"
