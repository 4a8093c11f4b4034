package com.apigee.flow.execution;

/** Where in the flow the callout runs. */
public interface ExecutionContext {
  /** True on the request flow (proxy or target request). */
  boolean isRequestFlow();

  /** True while the flow is handling a fault. */
  boolean isErrorFlow();
}
