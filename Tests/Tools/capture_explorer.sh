#!/usr/bin/env bash
# Real explorer captures for the README: starts tokenscope in a detached tmux window of the given size, sends keys,
# waits for the screen to settle, and prints `tmux capture-pane -p` (text only).
#   Tests/Tools/capture_explorer.sh COLSxROWS "KEYS" -- tokenscope ARGS...
# KEYS are tmux send-keys names separated by "|" ("Right|Right|Right", "]|]|]|]"); an item starting with "-l " is
# typed literally (":|-l view score|Enter" uses the explorer's command line).
set -euo pipefail
size=$1 keys=$2
shift 2
[ "$1" = "--" ] && shift
cols=${size%x*} rows=${size#*x}
session="tokenscope-capture-$$"
tmux new-session -d -s "$session" -x "$cols" -y "$rows" "$*"
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT
sleep 2
IFS='|' read -r -a items <<< "$keys"
for key in "${items[@]}"; do
  if [[ $key == "-l "* ]]; then tmux send-keys -t "$session" -l "${key#-l }"; else tmux send-keys -t "$session" "$key"; fi
  sleep 0.4
done
sleep 2
tmux capture-pane -p -t "$session"
