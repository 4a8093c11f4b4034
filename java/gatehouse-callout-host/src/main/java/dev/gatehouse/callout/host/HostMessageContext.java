package dev.gatehouse.callout.host;

import com.apigee.flow.execution.ExecutionContext;
import com.apigee.flow.message.FlowContext;
import com.apigee.flow.message.Message;
import com.apigee.flow.message.MessageContext;
import com.google.apigee.proto.ExternalCallout;
import com.google.apigee.proto.ExternalCallout.FlowVariable;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * The MessageContext a callout gets, built from the ExternalCallout request and turned back into the
 * answer (docs/policies.md#javacallout). Variables are the additional_flow_variables extproc sent
 * (the policy's FlowVariables), plus message-backed names (request.header.X, request.content, ...)
 * read from and written to the messages, as in Apigee. Names under gatehouse.javacallout. are the
 * call's own settings and are hidden from the callout.
 */
final class HostMessageContext implements MessageContext, ExecutionContext {
  static final String RESERVED = "gatehouse.javacallout.";

  private final Map<String, Object> variables = new LinkedHashMap<>();
  private final Set<String> touched = new LinkedHashSet<>();
  private final HostMessage request;
  private final HostMessage response;
  private final HostMessage error;
  private final ExternalCallout.MessageContext in;

  HostMessageContext(ExternalCallout.MessageContext in) {
    this.in = in;
    in.getAdditionalFlowVariablesMap()
        .forEach(
            (name, value) -> {
              if (!name.startsWith(RESERVED)) variables.put(name, plain(value));
            });
    ExternalCallout.Request req = in.getRequest();
    this.request =
        in.hasRequest() ? new HostMessage(this, req.getHeadersMap(), req.getQueryParamsMap(), true, req.getContent()) : null;
    ExternalCallout.Response res = in.getResponse();
    this.response =
        in.hasResponse() ? new HostMessage(this, res.getHeadersMap(), Map.of(), false, res.getContent()) : null;
    ExternalCallout.Response err = in.getError().getResponse();
    this.error = in.hasError() ? new HostMessage(this, err.getHeadersMap(), Map.of(), false, err.getContent()) : null;
  }

  static Object plain(FlowVariable v) {
    switch (v.getValueCase()) {
      case INT32:
        return v.getInt32();
      case INT64:
        return v.getInt64();
      case STRING:
        return v.getString();
      case BOOL:
        return v.getBool();
      case DOUBLE:
        return v.getDouble();
      default:
        return null;
    }
  }

  static FlowVariable wire(Object value) {
    FlowVariable.Builder b = FlowVariable.newBuilder();
    if (value instanceof Integer || value instanceof Short || value instanceof Byte) b.setInt32(((Number) value).intValue());
    else if (value instanceof Long) b.setInt64((Long) value);
    else if (value instanceof Boolean) b.setBool((Boolean) value);
    else if (value instanceof Double || value instanceof Float) b.setDouble(((Number) value).doubleValue());
    else b.setString(String.valueOf(value));
    return b.build();
  }

  // --- message-backed variables ---------------------------------------------------------------

  private HostMessage messageNamed(String prefix) {
    switch (prefix) {
      case "request":
        return request;
      case "response":
        return response;
      case "message":
        return (HostMessage) getMessage();
      default:
        return null;
    }
  }

  /** The value of a message-backed name, or NOT_MESSAGE_BACKED. */
  private static final Object NOT_MESSAGE_BACKED = new Object();

  private Object messageVariable(String name) {
    int dot = name.indexOf('.');
    if (dot < 0) return NOT_MESSAGE_BACKED;
    String prefix = name.substring(0, dot);
    String rest = name.substring(dot + 1);
    if (!prefix.equals("request") && !prefix.equals("response") && !prefix.equals("message")) return NOT_MESSAGE_BACKED;
    HostMessage m = messageNamed(prefix);
    if (rest.startsWith("header.")) return m == null ? null : m.getHeader(rest.substring(7));
    if (rest.startsWith("queryparam.")) return m == null ? null : m.getQueryParam(rest.substring(11));
    if (rest.equals("content")) return m == null ? null : m.getContent();
    if (prefix.equals("request") && in.hasRequest()) {
      switch (rest) {
        case "verb":
          return in.getRequest().getVerb();
        case "uri":
          return in.getRequest().getUri();
        case "version":
          return in.getRequest().getHttpVersion();
        default:
          break;
      }
    }
    if (prefix.equals("response") && in.hasResponse()) {
      switch (rest) {
        case "status.code":
          return in.getResponse().getStatusCode();
        case "reason.phrase":
          return in.getResponse().getReasonPhrase();
        default:
          break;
      }
    }
    return NOT_MESSAGE_BACKED;
  }

  private boolean setMessageVariable(String name, Object value) {
    int dot = name.indexOf('.');
    if (dot < 0) return false;
    HostMessage m = messageNamed(name.substring(0, dot));
    String rest = name.substring(dot + 1);
    if (m == null) return false;
    if (rest.startsWith("header.")) return value == null ? m.removeHeader(rest.substring(7)) : m.setHeader(rest.substring(7), value);
    if (rest.startsWith("queryparam.")) {
      return value == null ? m.removeQueryParam(rest.substring(11)) : m.setQueryParam(rest.substring(11), value);
    }
    if (rest.equals("content")) {
      m.setContent(value == null ? "" : String.valueOf(value));
      return true;
    }
    return false;
  }

  private static boolean messageBackedName(String name) {
    return name.matches("(request|response|message)\\.(header\\.|queryparam\\.|content$).*");
  }

  // --- MessageContext -------------------------------------------------------------------------

  @Override
  @SuppressWarnings("unchecked")
  public <T> T getVariable(String name) {
    if (name == null) return null;
    Object fromMessage = messageVariable(name);
    if (fromMessage != NOT_MESSAGE_BACKED) return (T) fromMessage;
    return (T) variables.get(name);
  }

  @Override
  public boolean setVariable(String name, Object value) {
    if (name == null || name.isEmpty() || name.startsWith(RESERVED)) return false;
    if (messageBackedName(name)) return setMessageVariable(name, value);
    if (value == null) return removeVariable(name);
    variables.put(name, value);
    touched.add(name);
    return true;
  }

  @Override
  public boolean removeVariable(String name) {
    if (name == null || name.isEmpty() || name.startsWith(RESERVED)) return false;
    if (messageBackedName(name)) return setMessageVariable(name, null);
    boolean had = variables.remove(name) != null;
    touched.add(name);
    return had;
  }

  @Override
  public Message getMessage() {
    if (error != null) return error;
    return response != null ? response : request;
  }

  @Override
  public Message getMessage(FlowContext flowContext) {
    switch (flowContext) {
      case PROXY_REQUEST:
      case TARGET_REQUEST:
        return request;
      default:
        return response;
    }
  }

  @Override
  public Message getRequestMessage() {
    return request;
  }

  @Override
  public Message getResponseMessage() {
    return response;
  }

  @Override
  public Message getErrorMessage() {
    return error;
  }

  // --- ExecutionContext -----------------------------------------------------------------------

  @Override
  public boolean isRequestFlow() {
    return !in.hasResponse();
  }

  @Override
  public boolean isErrorFlow() {
    return in.hasError();
  }

  // --- the answer -----------------------------------------------------------------------------

  /** The answer: changed headers and query parameters, changed content, set and removed variables. */
  ExternalCallout.MessageContext.Builder answer() {
    ExternalCallout.MessageContext.Builder out = ExternalCallout.MessageContext.newBuilder();
    if (request != null) {
      ExternalCallout.Request.Builder r = ExternalCallout.Request.newBuilder();
      r.putAllHeaders(request.headerChanges()).putAllQueryParams(request.queryChanges());
      if (request.contentChanged()) r.setContent(request.getContent());
      out.setRequest(r);
    }
    HostMessage res = error != null ? error : response;
    if (res != null) {
      ExternalCallout.Response.Builder r = ExternalCallout.Response.newBuilder();
      r.putAllHeaders(res.headerChanges());
      if (res.contentChanged()) r.setContent(res.getContent());
      if (error != null) out.setError(ExternalCallout.Error.newBuilder().setResponse(r));
      else out.setResponse(r);
    }
    for (String name : touched) {
      Object value = variables.get(name);
      out.putAdditionalFlowVariables(name, value == null ? FlowVariable.getDefaultInstance() : wire(value));
    }
    return out;
  }

  /** Whether the callout changed the content of the request (r=true) or of the response. */
  boolean contentChanged(boolean r) {
    HostMessage m = r ? request : (error != null ? error : response);
    return m != null && m.contentChanged();
  }
}
