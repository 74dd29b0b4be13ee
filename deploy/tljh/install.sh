#!/bin/bash
# The course on The Littlest JupyterHub (one server), after TLJH itself is installed
# (https://tljh.jupyter.org: its bootstrap script, with --admin <instructor>). Run as root from a copy
# of the course's repository on that server:
#   sudo bash deploy/tljh/install.sh <instructor>
# What it does, each step safe to run again:
# 1. Debian/Ubuntu packages: Python 3.11 and Fashion-MNIST (dataset-fashion-mnist, Debian 12).
# 2. The course's pinned stack in a virtual environment of its own, /opt/gradients (TLJH's own
#    environment keeps its Python), registered as the hub's "python3" kernel, the one the chapters use.
# 3. In TLJH's environment (the servers'): jupytext and nbgrader at the course's versions, the
#    JupyterLab setting that opens .md chapters as notebooks, and nbgrader's exchange settings.
# 4. The exchange folder, /srv/nbgrader/exchange, writable by every user.
# 5. nbgrader's instructor tools (formgrader, assignment creation) for <instructor> only, and the
#    course folder in the instructor's home (jupyter-<instructor>/course).
set -euo pipefail
instructor=${1:?usage: sudo bash deploy/tljh/install.sh <instructor user name, as on the hub>}
repo=$(cd "$(dirname "$0")/../.." && pwd)
tljh=/opt/tljh/user
test -x "$tljh/bin/python" || { echo "no TLJH at $tljh: install The Littlest JupyterHub first" >&2; exit 2; }

apt-get install -y python3.11 python3.11-venv dataset-fashion-mnist

python3.11 -m venv /opt/gradients
(cd "$repo" && /opt/gradients/bin/pip install -r requirements.txt)
/opt/gradients/bin/python -m ipykernel install --prefix "$tljh" --name python3 \
    --display-name "Python 3 (gradients course)"

pins=$(grep -E '^(jupytext|nbgrader)==' "$repo/requirements.txt")
"$tljh/bin/pip" install $pins
mkdir -p "$tljh/share/jupyter/lab/settings" /etc/jupyter
cp "$repo/etc/jupyterlab-overrides.json" "$tljh/share/jupyter/lab/settings/overrides.json"
cp "$repo/deploy/jupyter/nbgrader_config.py" /etc/jupyter/nbgrader_config.py

mkdir -p /srv/nbgrader/exchange
chmod 1777 /srv/nbgrader/exchange

# Students: no formgrader or course list; the instructor turns them on at user level below.
for plugin in formgrader create-assignment course-list; do
  "$tljh/bin/jupyter" labextension disable --level=sys_prefix "@jupyter/nbgrader:$plugin"
done
"$tljh/bin/jupyter" server extension disable --sys-prefix nbgrader.server_extensions.formgrader
"$tljh/bin/jupyter" server extension disable --sys-prefix nbgrader.server_extensions.course_list
home=/home/jupyter-$instructor
test -d "$home" || { echo "no $home: log in once as $instructor on the hub, then run this again" >&2; exit 2; }
for plugin in formgrader create-assignment course-list; do
  sudo -u "jupyter-$instructor" HOME="$home" "$tljh/bin/jupyter" labextension enable --level=user "@jupyter/nbgrader:$plugin"
done
sudo -u "jupyter-$instructor" HOME="$home" "$tljh/bin/jupyter" server extension enable --user nbgrader.server_extensions.formgrader
sudo -u "jupyter-$instructor" HOME="$home" "$tljh/bin/jupyter" server extension enable --user nbgrader.server_extensions.course_list
sudo -u "jupyter-$instructor" HOME="$home" /opt/gradients/bin/python -m companion.instructors course \
    --output "$home/course" --exchange /srv/nbgrader/exchange

tljh-config set user_environment.default_app jupyterlab
tljh-config reload
echo "done: $instructor's course folder is $home/course (see deploy/README.md, 'Release an assignment')"
