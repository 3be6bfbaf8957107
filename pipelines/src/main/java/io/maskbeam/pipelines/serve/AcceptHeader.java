package io.maskbeam.pipelines.serve;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * HTTP content negotiation (RFC 9110, 12.5.1): the client's preferences by quality value, matched against the
 * types a server can produce. {@code q=0} means "not acceptable"; {@code *}{@code /*} and {@code type/*} match
 * less specifically than an exact type of the same quality.
 */
final class AcceptHeader {
  private AcceptHeader() {}

  private record Preference(String type, double q, int specificity, int order) {}

  /**
   * The type to answer with: the producible type the client prefers most (ties broken by the order of
   * {@code producible}, the server's own preference), or null when none is acceptable.
   */
  static String choose(String accept, List<String> producible) {
    if (accept == null || accept.isBlank()) {
      return producible.get(0);
    }
    List<Preference> prefs = new ArrayList<>();
    int order = 0;
    for (String part : accept.split(",")) {
      String[] params = part.split(";");
      String type = params[0].trim().toLowerCase(Locale.ROOT);
      if (type.isEmpty()) {
        continue;
      }
      double q = 1.0;
      for (int i = 1; i < params.length; i++) {
        String p = params[i].trim();
        if (p.startsWith("q=")) {
          try {
            q = Double.parseDouble(p.substring(2).trim());
          } catch (NumberFormatException e) {
            q = 0;
          }
        }
      }
      int specificity = type.equals("*/*") ? 0 : type.endsWith("/*") ? 1 : 2;
      prefs.add(new Preference(type, q, specificity, order++));
    }
    String best = null;
    double bestQ = 0;
    int bestRank = Integer.MAX_VALUE;
    for (int rank = 0; rank < producible.size(); rank++) {
      String candidate = producible.get(rank);
      // The most specific preference that matches the candidate decides its quality.
      Preference match = prefs.stream().filter(p -> matches(p.type(), candidate))
          .max(Comparator.comparingInt(Preference::specificity)).orElse(null);
      if (match == null || match.q() <= 0) {
        continue;
      }
      if (match.q() > bestQ || (match.q() == bestQ && rank < bestRank)) {
        best = candidate;
        bestQ = match.q();
        bestRank = rank;
      }
    }
    return best;
  }

  private static boolean matches(String range, String type) {
    if (range.equals("*/*")) {
      return true;
    }
    if (range.endsWith("/*")) {
      return type.startsWith(range.substring(0, range.length() - 1));
    }
    return range.equals(type);
  }
}
