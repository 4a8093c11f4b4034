package dev.gatehouse.callout.host;

import com.apigee.flow.execution.spi.Execution;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Finds callout classes in the jars of one folder (docs/policies.md#javacallout). Each jar gets its own
 * class loader whose parent sees only the JDK and the com.apigee.flow interface, so a callout cannot
 * reach the host's gRPC or protobuf classes and two jars cannot see each other's classes. A jar that
 * changes on disk (a new ConfigMap version) gets a fresh loader; instances are cached per jar version,
 * class and properties, as Apigee creates one instance per policy.
 */
final class CalloutLoader {
  /** A jar's name as ResourceURL java://NAME gives it: no folders, no traversal. */
  private static final Pattern JAR_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,200}\\.jar");

  private final Path folder;
  private final ClassLoader apiOnly;
  private final Map<String, LoadedJar> jars = new ConcurrentHashMap<>();

  CalloutLoader(Path folder) {
    this.folder = folder;
    this.apiOnly = new ApiOnlyClassLoader(Execution.class.getClassLoader());
  }

  /** A failure to find or build the callout; its message is safe to return to extproc. */
  static final class LoadException extends Exception {
    LoadException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  Execution instance(String jarName, String className, Map<String, String> properties) throws LoadException {
    if (jarName == null || !JAR_NAME.matcher(jarName).matches()) {
      throw new LoadException("resource \"" + jarName + "\" is not a jar name (java://NAME.jar)", null);
    }
    Path file = folder.resolve(jarName);
    BasicFileAttributes attrs;
    try {
      attrs = Files.readAttributes(file, BasicFileAttributes.class);
    } catch (IOException e) {
      throw new LoadException("resource java://" + jarName + " does not exist in the callout folder", e);
    }
    String version = attrs.lastModifiedTime().toMillis() + ":" + attrs.size();
    LoadedJar jar =
        jars.compute(
            jarName,
            (name, old) -> {
              if (old != null && old.version.equals(version)) return old;
              if (old != null) old.close();
              return new LoadedJar(file, version, apiOnly);
            });
    return jar.instance(className, properties);
  }

  private static final class LoadedJar {
    final String version;
    final URLClassLoader loader;
    final Map<String, Execution> instances = new ConcurrentHashMap<>();

    LoadedJar(Path file, String version, ClassLoader parent) {
      this.version = version;
      try {
        this.loader = new URLClassLoader("callout:" + file.getFileName(), new URL[] {file.toUri().toURL()}, parent);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }

    Execution instance(String className, Map<String, String> properties) throws LoadException {
      String key = className + "\0" + properties;
      Execution cached = instances.get(key);
      if (cached != null) return cached;
      Execution made = create(className, properties);
      Execution raced = instances.putIfAbsent(key, made);
      return raced != null ? raced : made;
    }

    private Execution create(String className, Map<String, String> properties) throws LoadException {
      Class<?> type;
      try {
        type = Class.forName(className, false, loader);
      } catch (ClassNotFoundException | LinkageError e) {
        throw new LoadException("class " + className + " is not in the callout jar: " + e, e);
      }
      if (!Execution.class.isAssignableFrom(type)) {
        throw new LoadException("class " + className + " does not implement com.apigee.flow.execution.spi.Execution", null);
      }
      // As Apigee: the Map constructor when the policy has Properties, else the no-argument one.
      try {
        Constructor<?> ctor;
        Object made;
        if (!properties.isEmpty() && hasMapConstructor(type)) {
          ctor = type.getConstructor(Map.class);
          made = ctor.newInstance(Map.copyOf(properties));
        } else if (hasNoArgConstructor(type)) {
          made = type.getConstructor().newInstance();
        } else {
          made = type.getConstructor(Map.class).newInstance(Map.copyOf(properties));
        }
        return (Execution) made;
      } catch (NoSuchMethodException e) {
        throw new LoadException("class " + className + " has no public constructor taking a Map or nothing", e);
      } catch (InvocationTargetException e) {
        throw new LoadException("constructor of " + className + " threw " + e.getCause(), e.getCause());
      } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
        throw new LoadException("cannot instantiate " + className + ": " + e, e);
      }
    }

    private static boolean hasMapConstructor(Class<?> type) {
      try {
        type.getConstructor(Map.class);
        return true;
      } catch (NoSuchMethodException e) {
        return false;
      }
    }

    private static boolean hasNoArgConstructor(Class<?> type) {
      try {
        type.getConstructor();
        return true;
      } catch (NoSuchMethodException e) {
        return false;
      }
    }

    void close() {
      try {
        loader.close();
      } catch (IOException e) {
        // The old loader's classes stay usable by calls still running; nothing else to do.
      }
    }
  }

  /** The parent of every callout loader: the JDK, plus the com.apigee.flow interface from the host. */
  private static final class ApiOnlyClassLoader extends ClassLoader {
    private final ClassLoader host;

    ApiOnlyClassLoader(ClassLoader host) {
      super("callout-api", ClassLoader.getPlatformClassLoader());
      this.host = host;
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      if (name.startsWith("com.apigee.flow.")) return host.loadClass(name);
      return super.loadClass(name, resolve);
    }
  }
}
