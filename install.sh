#!/bin/sh
# ha-vip installer: puts ha-vip on a systemd host as a hardened service.
#
#   curl -sfL https://github.com/ha-vip/ha-vip/releases/latest/download/install.sh |
#     sudo sh -s - --vip 192.168.1.100/24 --interface eth0 --priority 150
#
# Everything after `sh -s -` is ha-vip's own flags (`ha-vip run --help`); they
# become /etc/ha-vip/config.yaml after the downloaded binary's `ha-vip check`
# has accepted them. Nothing is installed or enabled before that, nor before
# the binary matched the release's SHA256SUMS.
#
# Installer options (anywhere among the flags):
#   --dry-run     download, verify and check, then print what would change
#   --uninstall   stop the service (it hands the VIP over) and remove the
#                 binary, the unit and the uninstall script; keeps /etc/ha-vip
#   --purge       with --uninstall: also remove /etc/ha-vip and the ha-vip user
#   --help        this text
#   --token T     is not passed on: T goes to /etc/ha-vip/token (mode 0640,
#                 root:ha-vip) and the configuration gets --token-file.
#
# Environment (overrides):
#   HA_VIP_VERSION       version to install, e.g. 0.2.0 (default: the latest
#                        release, found through GitHub's releases/latest)
#   HA_VIP_INSTALL_URL   base URL of the releases, https only (default:
#                        https://github.com/ha-vip/ha-vip/releases/download);
#                        a mirror keeps GitHub's layout:
#                        $HA_VIP_INSTALL_URL/v$HA_VIP_VERSION/ha-vip-$HA_VIP_VERSION-linux-<x86_64|aarch64>
#                        $HA_VIP_INSTALL_URL/v$HA_VIP_VERSION/SHA256SUMS
#   HA_VIP_INSTALL_ARTIFACT  air-gapped: install this local binary (a release
#                        asset, with the release's SHA256SUMS beside it)
#                        instead of downloading
#   HA_VIP_INSTALL_SKIP_DOWNLOAD=true  use the binary already at
#                        /usr/local/bin/ha-vip as it is (no download, no checksum)
#
# Installs: /usr/local/bin/ha-vip, /etc/ha-vip/config.yaml (and token),
# /etc/systemd/system/ha-vip.service (printed by `ha-vip manifest systemd`),
# /usr/local/bin/ha-vip-uninstall.sh, and the system user ha-vip. Enables and
# starts the service when systemd runs; otherwise says how to start it.
# Re-running with the same version and flags changes nothing; with another
# version or other flags it replaces what changed and restarts the service:
# SIGTERM makes the old process hand the VIP to a peer before it lets go.
#
# Exit status: 0 done (or nothing to do), 1 a failure (download, checksum,
# system), 2 bad flags or options (nothing was changed).

ha_vip_install() {
  set -eu

  BIN=/usr/local/bin/ha-vip
  UNINSTALL=/usr/local/bin/ha-vip-uninstall.sh
  CONF_DIR=/etc/ha-vip
  CONF=$CONF_DIR/config.yaml
  TOKEN_FILE=$CONF_DIR/token
  UNIT=/etc/systemd/system/ha-vip.service
  SERVICE=ha-vip.service
  USER_NAME=ha-vip
  DEFAULT_URL=https://github.com/ha-vip/ha-vip/releases/download

  say() { printf '[ha-vip] %s\n' "$*"; }
  fatal() {
    status=$1
    shift
    printf 'ha-vip install: error: %s\n' "$*" >&2
    exit "$status"
  }
  quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
  have() { command -v "$1" >/dev/null 2>&1; }

  # --- options -------------------------------------------------------------
  dry_run=false
  uninstall=false
  purge=false
  token=""
  token_given=false
  flags=""
  while [ $# -gt 0 ]; do
    case $1 in
      --dry-run) dry_run=true ;;
      --uninstall) uninstall=true ;;
      --purge) purge=true ;;
      --help | -h)
        sed -n '2,44p' "$0" 2>/dev/null | sed 's/^# \{0,1\}//' ||
          say "see the comments at the top of install.sh"
        exit 0
        ;;
      --token)
        [ $# -ge 2 ] || fatal 2 "--token needs a value"
        token=$2
        token_given=true
        shift
        ;;
      --token=*)
        token=${1#--token=}
        token_given=true
        ;;
      *) flags="$flags $(quote "$1")" ;;
    esac
    shift
  done
  if $purge && ! $uninstall; then
    fatal 2 "--purge only goes with --uninstall"
  fi

  run() {
    if $dry_run; then say "would run: $*"; else "$@"; fi
  }
  systemd_running() { [ -d /run/systemd/system ] && have systemctl; }

  if $uninstall; then
    [ "$(id -u)" = 0 ] || $dry_run || fatal 1 "run as root (sudo) to uninstall"
    uninstall_args=""
    if $purge; then uninstall_args="--purge"; fi
    if $dry_run; then uninstall_args="$uninstall_args --dry-run"; fi
    # shellcheck disable=SC2086 # word splitting of the two known options
    uninstall_script | sh -s - $uninstall_args
    exit 0
  fi

  # --- what to install -----------------------------------------------------
  [ "$(uname -s)" = Linux ] || fatal 1 "ha-vip runs on Linux only, not $(uname -s)"
  case $(uname -m) in
    x86_64 | amd64) arch=x86_64 ;;
    aarch64 | arm64) arch=aarch64 ;;
    *) fatal 1 "no ha-vip build for the architecture $(uname -m); releases are for x86_64 and aarch64" ;;
  esac
  if ! $dry_run && [ "$(id -u)" != 0 ]; then
    fatal 1 "run as root (sudo), or add --dry-run to see what would be done"
  fi

  tmp=$(mktemp -d "${TMPDIR:-/tmp}/ha-vip-install.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  trap 'exit 130' INT TERM
  new_bin=$tmp/ha-vip

  fetch() {
    case $1 in
      https://*) ;;
      *) fatal 2 "refusing to download over anything but https: $1" ;;
    esac
    if have curl; then
      curl --proto '=https' --tlsv1.2 -fsSL --retry 2 --connect-timeout 10 -o "$2" "$1" ||
        return 1
    elif have wget; then
      wget --https-only --secure-protocol=TLSv1_2 -q -T 10 -t 2 -O "$2" "$1" || return 1
    else
      fatal 1 "neither curl nor wget is installed; install one, or see HA_VIP_INSTALL_ARTIFACT"
    fi
  }
  # The version GitHub's releases/latest redirects to (…/releases/tag/vX.Y.Z).
  latest_version() {
    case $1 in
      */releases/download) ;;
      *) return 1 ;;
    esac
    latest_url=${1%/download}/latest
    if have curl; then
      where=$(curl --proto '=https' --tlsv1.2 -fsSL -o /dev/null -w '%{url_effective}' "$latest_url") ||
        return 1
    elif have wget; then
      where=$(wget --max-redirect=0 -S -O /dev/null "$latest_url" 2>&1 |
        sed -n 's/^ *Location: *\([^ ]*\).*/\1/p' | head -n 1)
    else
      return 1
    fi
    case $where in
      */releases/tag/v*) printf '%s\n' "${where##*/releases/tag/v}" ;;
      *) return 1 ;;
    esac
  }
  sha256() {
    if have sha256sum; then
      sha256sum "$1" | cut -d ' ' -f 1
    elif have shasum; then
      shasum -a 256 "$1" | cut -d ' ' -f 1
    else
      openssl dgst -sha256 "$1" | sed 's/^.*= //'
    fi
  }
  # verify FILE ASSET_NAME SUMS_FILE
  verify() {
    expected=$(awk -v f="$2" '$2 == f || $2 == "*" f { print $1; exit }' "$3")
    [ -n "$expected" ] ||
      fatal 1 "$(basename "$3") has no checksum for $2: this release has no build for $arch"
    actual=$(sha256 "$1")
    if [ "$actual" != "$expected" ]; then
      fatal 1 "checksum mismatch for $2: SHA256SUMS says $expected, the file is $actual; nothing was installed"
    fi
    say "verified $2 against SHA256SUMS (sha256 $actual)"
  }

  if [ "${HA_VIP_INSTALL_SKIP_DOWNLOAD:-}" = true ]; then
    [ -x "$BIN" ] ||
      fatal 1 "HA_VIP_INSTALL_SKIP_DOWNLOAD=true but there is no executable $BIN; place the binary there first"
    cp "$BIN" "$new_bin"
    say "using the binary already at $BIN (HA_VIP_INSTALL_SKIP_DOWNLOAD=true: not downloaded, not verified)"
  elif [ -n "${HA_VIP_INSTALL_ARTIFACT:-}" ]; then
    artifact=$HA_VIP_INSTALL_ARTIFACT
    [ -f "$artifact" ] || fatal 2 "HA_VIP_INSTALL_ARTIFACT=$artifact is not a file"
    sums=$(dirname "$artifact")/SHA256SUMS
    [ -f "$sums" ] ||
      fatal 2 "no SHA256SUMS beside $artifact; copy the release's SHA256SUMS into $(dirname "$artifact")"
    cp "$artifact" "$new_bin"
    verify "$new_bin" "$(basename "$artifact")" "$sums"
  else
    base=${HA_VIP_INSTALL_URL:-$DEFAULT_URL}
    while [ "${base%/}" != "$base" ]; do base=${base%/}; done
    case $base in
      https://*) ;;
      *) fatal 2 "HA_VIP_INSTALL_URL must be an https:// URL, not $base" ;;
    esac
    version=${HA_VIP_VERSION:-}
    version=${version#v}
    if [ -z "$version" ]; then
      version=$(latest_version "$base") ||
        fatal 1 "cannot find the latest release under $base (it answers GitHub's releases/latest only for a …/releases/download URL); set HA_VIP_VERSION"
    fi
    case $version in
      [0-9]*) ;;
      *) fatal 2 "HA_VIP_VERSION=$version is not a version like 0.2.0" ;;
    esac
    case $version in
      *[!0-9A-Za-z.+-]*) fatal 2 "HA_VIP_VERSION=$version is not a version like 0.2.0" ;;
    esac
    asset=ha-vip-$version-linux-$arch
    say "downloading ha-vip $version for $arch from $base/v$version/"
    fetch "$base/v$version/SHA256SUMS" "$tmp/SHA256SUMS" ||
      fatal 1 "cannot download $base/v$version/SHA256SUMS (is $version a release, and is the server reachable?)"
    grep -q " \*\{0,1\}$asset\$" "$tmp/SHA256SUMS" ||
      fatal 1 "release $version has no build for $arch ($asset is not in its SHA256SUMS)"
    fetch "$base/v$version/$asset" "$new_bin" ||
      fatal 1 "cannot download $base/v$version/$asset"
    verify "$new_bin" "$asset" "$tmp/SHA256SUMS"
  fi
  chmod 0755 "$new_bin"

  # --- the flags, checked by the binary itself -----------------------------
  # The binary sees only the flags (and the token, through its environment
  # variable, never a command line): nothing in this shell's environment.
  eval "set -- $flags"
  ha_vip() { env -i PATH="$PATH" "$new_bin" "$@"; }
  if $token_given; then
    for f in "$@"; do
      case $f in
        --token-file | --token-file=*)
          fatal 2 "--token and --token-file: give only one (--token is written to $TOKEN_FILE)"
          ;;
      esac
    done
  fi
  new_version=$(ha_vip version | head -n 1) ||
    fatal 1 "the downloaded binary does not run here: $new_bin version failed"
  check_status=0
  if $token_given; then
    env -i PATH="$PATH" HA_VIP_K8S_TOKEN="$token" "$new_bin" check "$@" >/dev/null ||
      check_status=$?
  else
    ha_vip check "$@" >/dev/null || check_status=$?
  fi
  if [ "$check_status" != 0 ]; then
    printf '%s\n' "ha-vip install: 'ha-vip check' refused the flags above; nothing was installed or changed" >&2
    exit "$check_status"
  fi
  if $token_given; then set -- "$@" --token-file "$TOKEN_FILE"; fi
  ha_vip manifest config "$@" >"$tmp/config.yaml"
  ha_vip manifest systemd "$@" >"$tmp/ha-vip.service"
  ha_vip check --config "$tmp/config.yaml" >/dev/null ||
    fatal 1 "internal: the generated configuration does not pass ha-vip check"
  if $token_given; then printf '%s' "$token" >"$tmp/token"; fi

  # --- what changes ---------------------------------------------------------
  changed=""
  same() { [ -f "$2" ] && cmp -s "$1" "$2"; }
  same "$new_bin" "$BIN" || changed="$changed binary"
  same "$tmp/config.yaml" "$CONF" || changed="$changed config"
  same "$tmp/ha-vip.service" "$UNIT" || changed="$changed unit"
  if $token_given && ! same "$tmp/token" "$TOKEN_FILE"; then changed="$changed token"; fi
  uninstall_script >"$tmp/uninstall.sh"
  same "$tmp/uninstall.sh" "$UNINSTALL" || changed="$changed uninstall-script"
  id "$USER_NAME" >/dev/null 2>&1 || changed="$changed user"
  old_version=""
  if [ -x "$BIN" ]; then old_version=$("$BIN" version 2>/dev/null | head -n 1 || true); fi

  if [ -z "$changed" ]; then
    if systemd_running && ! systemctl is-active --quiet "$SERVICE"; then
      say "$new_version is installed with this configuration, but not running"
      run systemctl enable --now "$SERVICE"
    else
      say "$new_version is already installed with this configuration; nothing changed"
    fi
    exit 0
  fi
  if $dry_run; then
    say "dry run: would change:$changed"
    [ -z "$old_version" ] || say "installed now: $old_version; would install: $new_version"
    say "would write $CONF:"
    sed 's/^/    /' "$tmp/config.yaml"
  fi

  # --- install ---------------------------------------------------------------
  if ! id "$USER_NAME" >/dev/null 2>&1; then
    say "creating the system user $USER_NAME"
    if have useradd; then
      run useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$USER_NAME"
    elif have adduser; then
      run adduser -S -D -H -h /nonexistent -s /sbin/nologin -G "$USER_NAME" "$USER_NAME" 2>/dev/null ||
        run adduser --system --group --no-create-home "$USER_NAME"
    else
      fatal 1 "cannot create the user $USER_NAME: no useradd or adduser"
    fi
  fi
  # install_file SRC DEST MODE OWNER: a temp file beside DEST, renamed over
  # it, so a reader (or the running service) sees the old file or the new one.
  install_file() {
    if $dry_run; then
      say "would install $2 (mode $3, owner $4)"
      return 0
    fi
    dir=$(dirname "$2")
    mkdir -p "$dir"
    part=$(mktemp "$dir/.ha-vip.XXXXXX")
    cat "$1" >"$part"
    chmod "$3" "$part"
    chown "$4" "$part"
    mv -f "$part" "$2"
    say "installed $2"
  }
  run mkdir -p "$CONF_DIR"
  run chown "root:$USER_NAME" "$CONF_DIR"
  run chmod 0750 "$CONF_DIR"
  if $token_given; then
    install_file "$tmp/token" "$TOKEN_FILE" 0640 "root:$USER_NAME"
  elif [ -f "$TOKEN_FILE" ]; then
    # A token placed beforehand (cloud-init write_files): readable by the
    # service user only.
    run chown "root:$USER_NAME" "$TOKEN_FILE"
    run chmod 0640 "$TOKEN_FILE"
  fi
  install_file "$tmp/config.yaml" "$CONF" 0640 "root:$USER_NAME"
  install_file "$new_bin" "$BIN" 0755 root:root
  install_file "$tmp/uninstall.sh" "$UNINSTALL" 0755 root:root
  install_file "$tmp/ha-vip.service" "$UNIT" 0644 root:root

  if systemd_running; then
    run systemctl daemon-reload
    if [ -n "$old_version" ] && systemctl is-active --quiet "$SERVICE"; then
      say "restarting $SERVICE: the old process hands the VIP over (SIGTERM), then $new_version starts"
      run systemctl enable "$SERVICE"
      run systemctl restart "$SERVICE"
    else
      run systemctl enable --now "$SERVICE"
    fi
    $dry_run || say "$new_version is installed and running: systemctl status $SERVICE; journalctl -u $SERVICE"
  else
    say "$new_version is installed. systemd is not running on this host, so nothing was started."
    say "start it with your service manager, as root or as the user $USER_NAME with CAP_NET_ADMIN and CAP_NET_RAW:"
    say "  $BIN run --config $CONF"
  fi
  say "uninstall: $UNINSTALL (add --purge to remove $CONF_DIR and the user too)"
}

# The uninstall script, written to /usr/local/bin/ha-vip-uninstall.sh and
# also what `install.sh --uninstall` runs.
uninstall_script() {
  cat <<'UNINSTALL'
#!/bin/sh
# Removes ha-vip as install.sh installed it. Stopping the service hands the
# VIP over to a peer first (SIGTERM is make-before-break).
# Usage: ha-vip-uninstall.sh [--purge] [--dry-run]
#   --purge    also remove /etc/ha-vip (configuration, token) and the user ha-vip
uninstall() {
  set -eu
  purge=false
  dry_run=false
  for a in "$@"; do
    case $a in
      --purge) purge=true ;;
      --dry-run) dry_run=true ;;
      *) echo "ha-vip-uninstall.sh: unknown option $a (use --purge, --dry-run)" >&2; exit 2 ;;
    esac
  done
  say() { printf '[ha-vip] %s\n' "$*"; }
  run() { if $dry_run; then say "would run: $*"; else "$@"; fi; }
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    if systemctl is-active --quiet ha-vip.service || systemctl is-enabled --quiet ha-vip.service; then
      say "stopping ha-vip.service (it hands the VIP over first)"
      run systemctl disable --now ha-vip.service
    fi
  else
    say "systemd is not running: stop a running ha-vip yourself (SIGTERM hands the VIP over)"
  fi
  for f in /etc/systemd/system/ha-vip.service /usr/local/bin/ha-vip /usr/local/bin/ha-vip-uninstall.sh; do
    if [ -e "$f" ]; then
      run rm -f "$f"
      $dry_run || say "removed $f"
    fi
  done
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    run systemctl daemon-reload
  fi
  if $purge; then
    if [ -e /etc/ha-vip ]; then
      run rm -rf /etc/ha-vip
      $dry_run || say "removed /etc/ha-vip"
    fi
    if id ha-vip >/dev/null 2>&1; then
      run userdel ha-vip
      $dry_run || say "removed the user ha-vip"
    fi
  elif [ -d /etc/ha-vip ]; then
    say "kept /etc/ha-vip (configuration); --purge removes it"
  fi
}
uninstall "$@"
UNINSTALL
}

ha_vip_install "$@"
