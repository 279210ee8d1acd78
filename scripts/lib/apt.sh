# Shared by the project's scripts: installs Debian packages that are missing.
#
#   ensure_apt PACKAGE:COMMAND ...
#
# installs PACKAGE when COMMAND is not on the PATH (or, when COMMAND starts with a
# slash, when that file does not exist). Uses sudo when not run as root.
ensure_apt() {
    local need=() pair pkg probe
    for pair in "$@"; do
        pkg="${pair%%:*}"
        probe="${pair#*:}"
        if [[ "$probe" == /* ]]; then
            [ -e "$probe" ] || need+=("$pkg")
        else
            command -v "$probe" >/dev/null 2>&1 || need+=("$pkg")
        fi
    done
    ((${#need[@]})) || return 0
    echo "==> installing ${need[*]}"
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}
