package com.apigee.flow.message;

/** The flow a message belongs to. */
public enum FlowContext {
  PROXY_REQUEST,
  PROXY_RESPONSE,
  TARGET_REQUEST,
  TARGET_RESPONSE
}
