#!/bin/bash
# Installs, from Debian's packages, everything the test suite talks to: the Jupyter tools,
# Chromium, Python's numeric stack, and the Slurm/munge/MariaDB/sshd/Lmod test cluster's packages.
# Idempotent: installs only what is missing. Needs root.
set -euo pipefail
PKGS=(
  # Jupyter tools the tests drive (Debian bookworm: notebook 6, jupyter_client 7)
  python3-jupyter-client python3-nbclient python3-nbformat jupyter-notebook python3-ipykernel
  jupyter-nbconvert jupyter-client jupyter-console python3-jupyter-kernel-test
  # what cells use: the demo's numeric stack, dill for namespaces
  python3-numpy python3-pandas python3-matplotlib python3-dill python3-jedi
  # browser for the UI test
  chromium
  # test cluster (scripts/test-cluster/up.sh)
  slurm-wlm slurmctld slurmd slurm-client munge slurmdbd mariadb-server
  openssh-server openssh-client libpam-google-authenticator oathtool lmod python3-venv procps
  python3-yaml
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { echo "system packages: all present"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "install-system-deps: run as root to install: ${missing[*]}" >&2; exit 1; }
echo "system packages: installing ${missing[*]}"
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then   # keep postinst scripts from starting daemons
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; created_policy=1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
echo "system packages: done"
