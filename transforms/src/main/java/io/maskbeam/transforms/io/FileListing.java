package io.maskbeam.transforms.io;

import io.maskbeam.core.FailureReason;
import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;

/**
 * Lists the files a glob matches, the same way for every stage. Object stores are listed by Beam's filesystems.
 * Local globs are walked here, because Beam's local matching follows symbolic links into folders it has already
 * listed (a link to {@code .} multiplied a job 41 times), silently drops dangling links, and lets {@code **} skip
 * names holding a newline. This walk:
 *
 * <ul>
 *   <li>follows a link to a folder once: a link into a folder already being listed is a {@code LINK_LOOP} entry;
 *   <li>lists a file reached twice (through links) once, by its real path; the other paths are
 *       {@code DUPLICATE_INPUT} entries;
 *   <li>reports a dangling or self-referencing link as {@code BROKEN_LINK} / {@code LINK_LOOP};
 *   <li>matches every character of a name, newlines included.
 * </ul>
 *
 * So every path a glob sees is either a file or a problem entry with a reason, never silently lost.
 */
public final class FileListing {
  private FileListing() {}

  /**
   * One path a glob saw: a file with its size and modification time, or a problem ({@code problem} non-null).
   */
  public record Entry(String uri, long sizeBytes, long lastModifiedMillis, FailureReason problem, String message) {
    public boolean isFile() {
      return problem == null;
    }
  }

  /** Whether a glob or path is on the local file system. */
  public static boolean isLocal(String glob) {
    return !glob.contains("://") || glob.startsWith("file://");
  }

  /** Everything a glob matches (files and problems), in a stable order; folders themselves are not entries. */
  public static List<Entry> list(String glob) throws IOException {
    if (!isLocal(glob)) {
      MatchResult m = FileSystems.match(glob, EmptyMatchTreatment.ALLOW);
      if (m.status() == MatchResult.Status.NOT_FOUND) {
        return List.of();
      }
      if (m.status() != MatchResult.Status.OK) {
        throw new IOException("cannot list " + glob + ": " + m.status());
      }
      List<Entry> out = new ArrayList<>();
      for (MatchResult.Metadata md : m.metadata()) {
        String uri = md.resourceId().toString();
        if (!md.resourceId().isDirectory() && !uri.endsWith("/")) {
          out.add(new Entry(uri, md.sizeBytes(), md.lastModifiedMillis(), null, null));
        }
      }
      return out;
    }
    return listLocal(glob.startsWith("file://") ? glob.substring("file://".length()) : glob);
  }

  /** The number of files a glob matches (problem entries excluded). */
  public static long countFiles(String glob) throws IOException {
    return list(glob).stream().filter(Entry::isFile).count();
  }

  private static List<Entry> listLocal(String glob) throws IOException {
    String absolute = Path.of(glob.isEmpty() ? "." : glob).isAbsolute() ? glob
        : Path.of("").toAbsolutePath() + "/" + glob;
    int wildcard = firstWildcard(absolute);
    if (wildcard < 0) {
      Path p = Path.of(absolute).normalize();
      List<Entry> out = new ArrayList<>();
      Walk walk = new Walk(null, 0, out);
      if (Files.isDirectory(p)) {
        return out; // a folder is not a file (callers turn folders into "folder/*")
      }
      walk.visitPath(p);
      return out;
    }
    int slash = absolute.lastIndexOf('/', wildcard);
    Path root = Path.of(absolute.substring(0, slash + 1)).normalize();
    String rest = absolute.substring(slash + 1);
    Pattern pattern = Pattern.compile(toRegex((root.toString().equals("/") ? "" : root.toString()) + "/" + rest),
        Pattern.DOTALL);
    List<Entry> out = new ArrayList<>();
    if (!Files.isDirectory(root)) {
      return out;
    }
    new Walk(pattern, depthOf(rest), out).walk(root, new HashSet<>(), 0);
    return out;
  }

  /** A depth-first walk that remembers the real paths of the folders and files it has reached. */
  private static final class Walk {
    private final Pattern pattern;
    private final int maxDepth;
    private final List<Entry> out;
    private final Set<Path> seenFiles = new HashSet<>();

    /** @param maxDepth how many names below the root a matching path has at most */
    Walk(Pattern pattern, int maxDepth, List<Entry> out) {
      this.pattern = pattern;
      this.maxDepth = maxDepth;
      this.out = out;
    }

    void walk(Path dir, Set<Path> ancestors, int depth) throws IOException {
      Path real = dir.toRealPath();
      if (!ancestors.add(real)) {
        return;
      }
      List<Path> children;
      try (var stream = Files.list(dir)) {
        children = stream.sorted().toList();
      }
      for (Path child : children) {
        String path = child.toString();
        boolean link = Files.isSymbolicLink(child);
        BasicFileAttributes attrs;
        try {
          attrs = Files.readAttributes(child, BasicFileAttributes.class);
        } catch (FileSystemException e) {
          // A path the glob does not name is no input, broken or not (a dangling thumbs.db beside *.jpg).
          if (matches(path)) {
            unreadable(child, e);
          }
          continue;
        }
        if (attrs.isDirectory()) {
          if (depth + 1 >= maxDepth) {
            continue; // no name below this folder can match the glob
          }
          Path target = child.toRealPath();
          if (link && isUnder(target, ancestors)) {
            if (matches(path)) {
              problem(path, FailureReason.LINK_LOOP, "symbolic link " + path + " leads back into " + target
                  + ", which is already being listed; not followed");
            }
            continue;
          }
          walk(child, new HashSet<>(ancestors), depth + 1);
        } else if (matches(path)) {
          visitFile(child, attrs);
        }
      }
    }

    /** A matching path whose attributes cannot be read: a link that loops or dangles, or no permission. */
    private void unreadable(Path child, FileSystemException e) {
      String path = child.toString();
      if (e instanceof FileSystemLoopException) {
        problem(path, FailureReason.LINK_LOOP, "symbolic link loop: " + path + " resolves to itself");
      } else if (e instanceof NoSuchFileException) {
        problem(path, FailureReason.BROKEN_LINK, "symbolic link " + path + " points to " + readLink(child)
            + ", which does not exist");
      } else if (e instanceof java.nio.file.AccessDeniedException) {
        problem(path, FailureReason.ACCESS_DENIED, "cannot read " + path + ": permission denied");
      } else {
        String reason = String.valueOf(e.getReason());
        boolean loop = reason.toLowerCase(java.util.Locale.ROOT).contains("levels of symbolic links");
        problem(path, loop ? FailureReason.LINK_LOOP : FailureReason.READ_FAILED,
            (loop ? "symbolic link loop: " : "cannot read ") + path + " (" + reason + ")");
      }
    }

    /** One path named without wildcards: nothing when it does not exist, else an input or a problem. */
    void visitPath(Path file) throws IOException {
      BasicFileAttributes attrs;
      try {
        attrs = Files.readAttributes(file, BasicFileAttributes.class);
      } catch (NoSuchFileException e) {
        if (Files.isSymbolicLink(file)) {
          unreadable(file, e);
        }
        return;
      } catch (FileSystemException e) {
        unreadable(file, e);
        return;
      }
      visitFile(file, attrs);
    }

    void visitFile(Path file, BasicFileAttributes attrs) throws IOException {
      String path = file.toString();
      Path real = file.toRealPath();
      if (!seenFiles.add(real)) {
        problem(path, FailureReason.DUPLICATE_INPUT, path + " is " + real + ", already listed under another path;"
            + " processed once");
        return;
      }
      out.add(new Entry(path, attrs.size(), attrs.lastModifiedTime().toMillis(), null, null));
    }

    private boolean matches(String path) {
      return pattern == null || pattern.matcher(path).matches();
    }

    private void problem(String path, FailureReason reason, String message) {
      out.add(new Entry(path, -1, -1, reason, message));
    }

    private static boolean isUnder(Path target, Set<Path> ancestors) {
      for (Path a : ancestors) {
        if (a.startsWith(target)) {
          return true; // the link points at a folder above one being listed: a loop
        }
      }
      return false;
    }

    private static String readLink(Path link) {
      try {
        return Files.readSymbolicLink(link).toString();
      } catch (IOException e) {
        return "?";
      }
    }
  }

  /** How many names deep a glob below its root reaches; unbounded with {@code **} or a folder inside braces. */
  static int depthOf(String rest) {
    if (rest.contains("**") || rest.matches("(?s).*\\{[^}]*/.*")) {
      return Integer.MAX_VALUE;
    }
    return rest.split("/", -1).length;
  }

  /** Where a glob's first wildcard character is, or -1 for a plain path. */
  public static int firstWildcard(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '*' || c == '?' || c == '[' || c == '{') {
        return i;
      }
    }
    return -1;
  }

  /**
   * A glob as a regular expression over whole paths: {@code **} any characters (across folders), {@code *} and
   * {@code ?} within one name, {@code [...]} a class, {@code {a,b}} alternatives; everything else literal.
   */
  static String toRegex(String glob) {
    StringBuilder re = new StringBuilder();
    int depth = 0;
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      switch (c) {
        case '*' -> {
          if (i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
            re.append(".*");
            i++;
          } else {
            re.append("[^/]*");
          }
        }
        case '?' -> re.append("[^/]");
        case '[' -> {
          int close = glob.indexOf(']', i + 1);
          if (close < 0) {
            re.append("\\[");
          } else {
            String body = glob.substring(i + 1, close);
            if (body.startsWith("!")) {
              body = "^" + body.substring(1);
            }
            re.append('[').append(body.replace("\\", "\\\\")).append(']');
            i = close;
          }
        }
        case '{' -> {
          depth++;
          re.append("(?:");
        }
        case '}' -> {
          if (depth > 0) {
            depth--;
            re.append(')');
          } else {
            re.append("\\}");
          }
        }
        case ',' -> re.append(depth > 0 ? "|" : ",");
        default -> re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return re.toString();
  }
}
