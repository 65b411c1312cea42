# Shared by the setup scripts: apt_install PACKAGE... installs Debian
# packages, running apt-get update once per CI run.
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO=sudo; fi
apt_install() {
  if [ ! -e /tmp/possession-ci-apt-updated ]; then
    $SUDO apt-get update -qq && touch /tmp/possession-ci-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}
