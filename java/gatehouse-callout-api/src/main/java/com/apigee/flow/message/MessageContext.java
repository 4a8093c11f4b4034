package com.apigee.flow.message;

/**
 * The flow's variables and messages. Variables are those extproc sends with the call (the policy's
 * flow and the message-backed ones); setVariable and removeVariable go back to the flow when the
 * callout returns. Values are strings, numbers or booleans; other objects are stored as their
 * toString().
 */
public interface MessageContext {
  <T> T getVariable(String name);

  boolean setVariable(String name, Object value);

  boolean removeVariable(String name);

  /** The message of the current flow: the request on a request flow, else the response. */
  Message getMessage();

  Message getMessage(FlowContext flowContext);

  Message getRequestMessage();

  /** The response, or null on a request flow. */
  Message getResponseMessage();

  /** The error response, or null outside the error flow. */
  Message getErrorMessage();
}
