package com.apigee.flow.execution;

/** What the flow does after a callout returns. */
public enum Action {
  CONTINUE,
  ABORT,
  PAUSE
}
