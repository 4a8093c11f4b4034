#!/bin/sh
# Kills a test service's process group once the test runner that started it is gone.
# Usage: reaper.sh RUNNER_PID SERVICE_PID
runner=$1 service=$2
while kill -0 "$runner" 2>/dev/null && kill -0 "$service" 2>/dev/null; do sleep 1; done
if kill -0 "$service" 2>/dev/null; then
  kill -TERM -"$service" 2>/dev/null
  sleep 3
  kill -KILL -"$service" 2>/dev/null
fi
exit 0
