package com.apigee.flow.message;

import java.io.InputStream;
import java.util.List;
import java.util.Set;

/**
 * An HTTP message (request or response) as a callout sees it. Header names are case-insensitive.
 * Query parameters exist on requests only; on a response they read as absent.
 */
public interface Message {
  /** The first value of a header, or null. */
  String getHeader(String name);

  /** The index-th value of a header, or null. */
  String getHeader(String name, int index);

  /** Every value of a header (empty when absent). */
  List<String> getHeaders(String name);

  Set<String> getHeaderNames();

  /** Replaces every value of a header with {@code String.valueOf(value)}. */
  boolean setHeader(String name, Object value);

  /** Replaces the index-th value of a header (appends when index equals the count). */
  boolean setHeader(String name, int index, Object value);

  boolean removeHeader(String name);

  String getQueryParam(String name);

  String getQueryParam(String name, int index);

  List<String> getQueryParams(String name);

  Set<String> getQueryParamNames();

  boolean setQueryParam(String name, Object value);

  boolean removeQueryParam(String name);

  /** The body as text (UTF-8), "" when empty. */
  String getContent();

  InputStream getContentAsStream();

  void setContent(String content);

  void setContent(InputStream content);

  /** A message-scoped variable (same namespace as MessageContext's). */
  <T> T getVariable(String name);

  boolean setVariable(String name, Object value);

  boolean removeVariable(String name);
}
