package com.apigee.flow.execution.spi;

import com.apigee.flow.execution.ExecutionContext;
import com.apigee.flow.execution.ExecutionResult;
import com.apigee.flow.message.MessageContext;

/**
 * What a Java callout implements, as in Apigee: the host instantiates the class named by the policy's
 * ClassName (with a {@code Map<String, String>} constructor when the policy has Properties, else the
 * no-argument one) and calls {@link #execute} once per request. One instance serves concurrent
 * requests, so callouts keep per-request state in the MessageContext, not in fields.
 */
public interface Execution {
  ExecutionResult execute(MessageContext messageContext, ExecutionContext executionContext);
}
