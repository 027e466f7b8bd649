#!/usr/bin/env bash
# `make demo`: validate, plan and apply the example specs against the platform simulator.
#
# The simulator is started on a free loopback port and stopped when the script exits. The specs
# and config are copied to .demo/ so every run starts from empty state and shows the whole flow.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work="$root/.demo"
rm -rf "$work"
mkdir -p "$work"
cp -r "$root/specs" "$root/reconciler.yaml" "$work/"
cd "$work"
# A git repository with a local "origin", so the demo can commit the status back like CI does.
git init -q -b main . && git init -q --bare -b main origin.git && git remote add origin origin.git
printf 'sim.env\nsim.log\norigin.git/\n' >.gitignore
git add .gitignore specs reconciler.yaml
git -c user.name=demo -c user.email=demo@example.com commit -q -m "specs"
git push -q origin main

# sim.env appears, whole, once the simulator listens (and goes when it stops).
reconciler sim serve --port 0 --time-scale 2 --env-file sim.env >/dev/null 2>sim.log &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  [ -f sim.env ] && break
  kill -0 "$sim_pid" 2>/dev/null || { cat sim.log >&2; exit 1; }
  sleep 0.1
done
[ -f sim.env ] || { echo "the simulator did not start in 10 s" >&2; cat sim.log >&2; exit 1; }
set -a
# shellcheck disable=SC1091
. ./sim.env
set +a
echo "Simulator at $BOOMI_API_URL (account $BOOMI_ACCOUNT_ID)"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step reconciler validate
reconciler validate
step reconciler plan
reconciler plan
step reconciler apply
set +e
reconciler apply
code=$?
set -e
# Exit 3 means "the tool worked, and some runs ended in a failure status": the demo world fails
# invoices-export on purpose. Anything else but 0 is a real problem.
if [ "$code" -ne 0 ] && [ "$code" -ne 3 ]; then
  echo "apply exited $code" >&2
  exit "$code"
fi
step reconciler commit "   # state and artifacts into git, with trailers; pushed to origin"
reconciler commit
git --no-pager --git-dir=origin.git log -1 --format='%h %s%n%n%b' main
step reconciler apply "   # again: everything is up to date, nothing is submitted"
reconciler apply
step reconciler status
reconciler status
echo
echo "State:     .demo/state/default/*.json"
echo "Artifacts: .demo/artifacts/default/ (summary.md, junit.xml, apply.json, runs/*.json)"
echo "History:   git -C .demo log --stat (pushed to .demo/origin.git)"
