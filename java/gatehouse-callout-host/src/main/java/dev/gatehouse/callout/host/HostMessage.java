package dev.gatehouse.callout.host;

import com.apigee.flow.message.Message;
import com.google.apigee.proto.ExternalCallout.Strings;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A request or response as the callout sees it, over the maps of the ExternalCallout proto. It
 * remembers which headers and query parameters changed, because the proto's answer carries only
 * those (a name mapped to an empty Strings removes it).
 */
final class HostMessage implements Message {
  private final HostMessageContext context;
  private final Map<String, List<String>> headers = new LinkedHashMap<>();
  private final Map<String, List<String>> query = new LinkedHashMap<>();
  private final Set<String> changedHeaders = new LinkedHashSet<>();
  private final Set<String> changedQuery = new LinkedHashSet<>();
  private final boolean hasQuery;
  private String content;
  private boolean contentChanged;

  HostMessage(HostMessageContext context, Map<String, Strings> headers, Map<String, Strings> query, boolean hasQuery, String content) {
    this.context = context;
    headers.forEach((k, v) -> this.headers.put(k.toLowerCase(Locale.ROOT), new ArrayList<>(v.getStringsList())));
    query.forEach((k, v) -> this.query.put(k, new ArrayList<>(v.getStringsList())));
    this.hasQuery = hasQuery;
    this.content = content;
  }

  private static String text(Object value) {
    return value == null ? "" : String.valueOf(value);
  }

  @Override
  public String getHeader(String name) {
    return getHeader(name, 0);
  }

  @Override
  public String getHeader(String name, int index) {
    List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
    return values == null || index < 0 || index >= values.size() ? null : values.get(index);
  }

  @Override
  public List<String> getHeaders(String name) {
    List<String> values = headers.get(name.toLowerCase(Locale.ROOT));
    return values == null ? List.of() : Collections.unmodifiableList(values);
  }

  @Override
  public Set<String> getHeaderNames() {
    return Collections.unmodifiableSet(headers.keySet());
  }

  @Override
  public boolean setHeader(String name, Object value) {
    String key = name.toLowerCase(Locale.ROOT);
    headers.put(key, new ArrayList<>(List.of(text(value))));
    changedHeaders.add(key);
    return true;
  }

  @Override
  public boolean setHeader(String name, int index, Object value) {
    String key = name.toLowerCase(Locale.ROOT);
    List<String> values = headers.computeIfAbsent(key, k -> new ArrayList<>());
    if (index < 0 || index > values.size()) return false;
    if (index == values.size()) values.add(text(value));
    else values.set(index, text(value));
    changedHeaders.add(key);
    return true;
  }

  @Override
  public boolean removeHeader(String name) {
    String key = name.toLowerCase(Locale.ROOT);
    boolean had = headers.remove(key) != null;
    changedHeaders.add(key);
    return had;
  }

  @Override
  public String getQueryParam(String name) {
    return getQueryParam(name, 0);
  }

  @Override
  public String getQueryParam(String name, int index) {
    List<String> values = query.get(name);
    return values == null || index < 0 || index >= values.size() ? null : values.get(index);
  }

  @Override
  public List<String> getQueryParams(String name) {
    List<String> values = query.get(name);
    return values == null ? List.of() : Collections.unmodifiableList(values);
  }

  @Override
  public Set<String> getQueryParamNames() {
    return Collections.unmodifiableSet(query.keySet());
  }

  @Override
  public boolean setQueryParam(String name, Object value) {
    if (!hasQuery) return false;
    query.put(name, new ArrayList<>(List.of(text(value))));
    changedQuery.add(name);
    return true;
  }

  @Override
  public boolean removeQueryParam(String name) {
    if (!hasQuery) return false;
    boolean had = query.remove(name) != null;
    changedQuery.add(name);
    return had;
  }

  @Override
  public String getContent() {
    return content;
  }

  @Override
  public InputStream getContentAsStream() {
    return new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public void setContent(String content) {
    this.content = content == null ? "" : content;
    contentChanged = true;
  }

  @Override
  public void setContent(InputStream content) {
    try (InputStream in = content) {
      setContent(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public <T> T getVariable(String name) {
    return context.getVariable(name);
  }

  @Override
  public boolean setVariable(String name, Object value) {
    return context.setVariable(name, value);
  }

  @Override
  public boolean removeVariable(String name) {
    return context.removeVariable(name);
  }

  /** The changed headers as the proto carries them: new values, or an empty Strings for a removal. */
  Map<String, Strings> headerChanges() {
    return changes(headers, changedHeaders);
  }

  Map<String, Strings> queryChanges() {
    return changes(query, changedQuery);
  }

  boolean contentChanged() {
    return contentChanged;
  }

  private static Map<String, Strings> changes(Map<String, List<String>> now, Set<String> changed) {
    Map<String, Strings> out = new LinkedHashMap<>();
    for (String name : changed) {
      List<String> values = now.get(name);
      out.put(name, values == null ? Strings.getDefaultInstance() : Strings.newBuilder().addAllStrings(values).build());
    }
    return out;
  }
}
