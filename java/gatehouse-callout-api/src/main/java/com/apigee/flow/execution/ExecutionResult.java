package com.apigee.flow.execution;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A callout's outcome. {@link #SUCCESS} continues the flow; {@link #ABORT} (or any result that is not a
 * success) raises the policy's fault, steps.javacallout.ExecutionError. A callout may build its own
 * result to carry an error response body and headers into the fault.
 */
public class ExecutionResult {
  public static final ExecutionResult SUCCESS = new ExecutionResult(true, Action.CONTINUE);
  public static final ExecutionResult ABORT = new ExecutionResult(false, Action.ABORT);

  private final boolean success;
  private final Action action;
  private String errorResponse;
  private final Map<String, String> errorResponseHeaders = new LinkedHashMap<>();

  public ExecutionResult(boolean success, Action action) {
    this.success = success;
    this.action = action;
  }

  public boolean isSuccess() {
    return success;
  }

  public Action getAction() {
    return action;
  }

  public String getErrorResponse() {
    return errorResponse;
  }

  public void setErrorResponse(String errorResponse) {
    if (this == SUCCESS || this == ABORT) throw new UnsupportedOperationException("shared result");
    this.errorResponse = errorResponse;
  }

  public Map<String, String> getErrorResponseHeaders() {
    return Collections.unmodifiableMap(errorResponseHeaders);
  }

  public void setErrorResponseHeaders(Map<String, String> headers) {
    if (this == SUCCESS || this == ABORT) throw new UnsupportedOperationException("shared result");
    errorResponseHeaders.clear();
    errorResponseHeaders.putAll(headers);
  }

  public void addErrorResponseHeader(String name, String value) {
    if (this == SUCCESS || this == ABORT) throw new UnsupportedOperationException("shared result");
    errorResponseHeaders.put(name, value);
  }
}
