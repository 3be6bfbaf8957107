package io.maskbeam.transforms.segment;

import io.maskbeam.transforms.io.FileListing;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Output names of segmented inputs: each input's path relative to the input root, without its extension, made
 * safe for every object store and file system. No name can leave the output prefix: {@code .} and {@code ..}
 * segments, empty segments and absolute paths are removed, and characters outside a conservative set (control
 * characters, backslashes, glob and URL metacharacters) become {@code _}. A name that had to change carries a
 * short hash of the original, so two different inputs never collapse onto one name.
 */
public final class OutputNames {
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._+=@,() -]");
  private static final int MAX_SEGMENT = 200;

  private OutputNames() {}

  /** The directory-like root of a glob: everything before the segment holding its first wildcard. */
  public static String globRoot(String pattern) {
    int wildcard = FileListing.firstWildcard(pattern);
    String fixed = wildcard < 0 ? pattern : pattern.substring(0, wildcard);
    int slash = fixed.lastIndexOf('/');
    return slash < 0 ? "" : fixed.substring(0, slash + 1);
  }

  /**
   * A local path made absolute and normalised (Beam lists local files by absolute path, so roots and manifest
   * entries must be absolute to compare with them); URIs with a scheme are returned unchanged.
   */
  public static String absoluteLocal(String uri, boolean directory) {
    if (uri.contains("://")) {
      return uri;
    }
    String abs = java.nio.file.Path.of(uri.isEmpty() ? "." : uri).toAbsolutePath().normalize().toString();
    return directory && !abs.endsWith("/") ? abs + "/" : abs;
  }

  /** The longest common directory prefix of several roots ("" when they share none, e.g. different buckets). */
  public static String commonRoot(List<String> roots) {
    if (roots.isEmpty()) {
      return "";
    }
    String common = roots.get(0);
    for (String r : roots) {
      int n = Math.min(common.length(), r.length());
      int i = 0;
      while (i < n && common.charAt(i) == r.charAt(i)) {
        i++;
      }
      common = common.substring(0, i);
    }
    int slash = common.lastIndexOf('/');
    String dir = slash < 0 ? "" : common.substring(0, slash + 1);
    // A bare scheme ("s3://") is no root: names would then start with the bucket, which is what we want anyway.
    return dir.endsWith("://") ? "" : dir;
  }

  /**
   * The output key of an input: its path under {@code root} without the extension, sanitised. An input outside
   * the root keeps its whole path (the scheme dropped), so it still gets a unique, safe name.
   */
  public static String keyOf(String uri, String root) {
    String relative;
    if (!root.isEmpty() && uri.startsWith(root)) {
      relative = uri.substring(root.length());
    } else {
      int scheme = uri.indexOf("://");
      relative = scheme >= 0 ? uri.substring(scheme + 3) : uri;
    }
    relative = relative.replace('\\', '/');
    int slash = relative.lastIndexOf('/');
    int dot = relative.lastIndexOf('.');
    if (dot > slash + 1) {
      relative = relative.substring(0, dot);
    }
    return sanitize(relative);
  }

  /** A relative path with only safe, non-navigating segments; a hash suffix marks any change. */
  public static String sanitize(String relative) {
    List<String> segments = new ArrayList<>();
    boolean changed = false;
    // Backslashes separate folders on Windows-made names; treat them as separators so "..\\" cannot hide.
    for (String segment : relative.replace('\\', '/').split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
        changed |= !segment.isEmpty() || !segments.isEmpty();
        continue;
      }
      StringBuilder clean = new StringBuilder(segment.length());
      segment.codePoints().forEach(cp -> {
        String ch = new String(Character.toChars(cp));
        clean.append(SAFE.matcher(ch).matches() ? ch : "_");
      });
      String s = clean.toString().strip();
      while (s.startsWith(".")) {
        s = s.substring(1); // no hidden files, no "..." navigation lookalikes
      }
      if (s.length() > MAX_SEGMENT) {
        s = s.substring(0, MAX_SEGMENT);
      }
      if (s.isEmpty()) {
        s = "_";
      }
      changed |= !s.equals(segment);
      segments.add(s);
    }
    if (segments.isEmpty()) {
      segments.add("_");
      changed = true;
    }
    String joined = String.join("/", segments);
    return changed ? joined + "-" + shortHash(relative) : joined;
  }

  /** Names for inputs that would share one key (a.jpg and a.png): each gets its extension appended. */
  public static String withExtension(String key, String uri) {
    String name = uri.substring(uri.lastIndexOf('/') + 1);
    int dot = name.lastIndexOf('.');
    String ext = dot > 0 ? name.substring(dot + 1).toLowerCase(Locale.ROOT) : "";
    String suffix = ext.isEmpty() ? shortHash(uri) : sanitize(ext);
    return key + "_" + (suffix.contains("/") ? shortHash(uri) : suffix);
  }

  static String shortHash(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
