package io.maskbeam.annotations;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import javax.xml.stream.XMLInputFactory;
import javax.xml.stream.XMLStreamConstants;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamReader;

/**
 * CVAT for images 1.1 XML ({@code annotations.xml} of CVAT's export), streamed image by image so a task of any size
 * reads in constant memory. Read: {@code polygon} ({@code points="x0,y0;x1,y1;..."}), {@code box} (corners
 * {@code xtl, ytl, xbr, ybr}, turned by {@code rotation} degrees clockwise about its centre), {@code ellipse}
 * ({@code cx, cy, rx, ry}, {@code rotation}) as a polygon with vertices at most half a pixel apart, and {@code mask}
 * (CVAT's run-length encoding: {@code rle} counts, zeros first, row by row within the box {@code left, top, width,
 * height}). Shapes paint by {@code z_order}, then in file order, later on top, as CVAT draws them.
 * {@code polyline}, {@code points}, {@code tag}, {@code cuboid} and {@code skeleton} cover no area and are skipped.
 */
public final class CvatFormat {
  private CvatFormat() {}

  /** One {@code <image>} element: its name as written (relative to the task's images), size and regions. */
  public record Image(String name, int width, int height, ImageAnnotation annotation, int skippedShapes) {}

  /** Receives each image, or the reason an image's annotations cannot be used. */
  public interface Sink {
    void image(Image image);

    void invalid(String imageName, String message);
  }

  /**
   * Streams the images of a CVAT XML document to the sink. A document that stops being XML throws, after the images
   * before that point were delivered.
   */
  public static void read(InputStream in, Sink sink) throws InvalidAnnotationException {
    XMLInputFactory factory = XMLInputFactory.newFactory();
    // No DTDs or external entities: annotation files come from anywhere.
    factory.setProperty(XMLInputFactory.SUPPORT_DTD, false);
    factory.setProperty(XMLInputFactory.IS_SUPPORTING_EXTERNAL_ENTITIES, false);
    XMLStreamReader xml = null;
    try {
      xml = factory.createXMLStreamReader(in);
      boolean root = false;
      while (xml.hasNext()) {
        if (xml.next() != XMLStreamConstants.START_ELEMENT) {
          continue;
        }
        if (!root) {
          if (!xml.getLocalName().equals("annotations")) {
            throw new InvalidAnnotationException("a CVAT file's root element is <annotations>, not <"
                + xml.getLocalName() + ">");
          }
          root = true;
        } else if (xml.getLocalName().equals("image")) {
          readImage(xml, sink);
        }
      }
    } catch (XMLStreamException e) {
      throw new InvalidAnnotationException("not well-formed XML at line " + e.getLocation().getLineNumber()
          + ": " + e.getMessage().lines().reduce((a, b) -> b).orElse(""), e);
    } finally {
      if (xml != null) {
        try {
          xml.close();
        } catch (XMLStreamException ignored) {
          // nothing left to release
        }
      }
    }
  }

  private record Drawn(int zOrder, Region region) {}

  private static void readImage(XMLStreamReader xml, Sink sink) throws XMLStreamException {
    String name = xml.getAttributeValue(null, "name");
    String problem = null;
    int width = 0;
    int height = 0;
    try {
      width = Integer.parseInt(attr(xml, "width"));
      height = Integer.parseInt(attr(xml, "height"));
    } catch (NumberFormatException | InvalidAnnotationException e) {
      problem = "image needs integer \"width\" and \"height\": " + e.getMessage();
    }
    if (name == null || name.isBlank()) {
      problem = "an <image> without a \"name\"";
    }
    List<Drawn> drawn = new ArrayList<>();
    int skipped = 0;
    int depth = 1;
    int index = 0;
    while (depth > 0) {
      int event = xml.next();
      if (event == XMLStreamConstants.END_ELEMENT) {
        depth--;
        continue;
      }
      if (event != XMLStreamConstants.START_ELEMENT) {
        continue;
      }
      depth++;
      if (depth != 2) {
        continue; // attributes of a shape
      }
      String kind = xml.getLocalName();
      String where = kind + " " + index++;
      if (problem != null) {
        continue;
      }
      try {
        String label = attr(xml, "label");
        where += " ('" + label + "')";
        int z = xml.getAttributeValue(null, "z_order") == null ? 0 : Integer.parseInt(attr(xml, "z_order"));
        Region region = switch (kind) {
          case "polygon" -> Region.polygons(label, null, List.of(points(attr(xml, "points"), where)));
          case "box" -> Region.polygons(label, null, List.of(box(number(xml, "xtl"), number(xml, "ytl"),
              number(xml, "xbr"), number(xml, "ybr"), optional(xml, "rotation"))));
          case "ellipse" -> Region.polygons(label, null, List.of(ellipse(number(xml, "cx"), number(xml, "cy"),
              number(xml, "rx"), number(xml, "ry"), optional(xml, "rotation"))));
          case "mask" -> Region.mask(label, null, mask(xml, width, height, where));
          default -> null;
        };
        if (region == null) {
          skipped++;
        } else {
          drawn.add(new Drawn(z, region));
        }
      } catch (InvalidAnnotationException | IllegalArgumentException e) {
        problem = e.getMessage().startsWith(kind) ? e.getMessage() : where + ": " + e.getMessage();
      }
    }
    if (problem != null) {
      sink.invalid(name, problem);
      return;
    }
    drawn.sort(Comparator.comparingInt(Drawn::zOrder)); // stable: file order within a z level
    sink.image(new Image(name, width, height, new ImageAnnotation(width, height,
        drawn.stream().map(Drawn::region).toList(), ImageAnnotation.Overlap.LATER_WINS), skipped));
  }

  private static String attr(XMLStreamReader xml, String name) throws InvalidAnnotationException {
    String v = xml.getAttributeValue(null, name);
    if (v == null) {
      throw new InvalidAnnotationException("no \"" + name + "\" attribute");
    }
    return v.trim();
  }

  private static double number(XMLStreamReader xml, String name) throws InvalidAnnotationException {
    try {
      double v = Double.parseDouble(attr(xml, name));
      if (!Double.isFinite(v)) {
        throw new NumberFormatException("not finite");
      }
      return v;
    } catch (NumberFormatException e) {
      throw new InvalidAnnotationException("\"" + name + "\" is not a number: " + xml.getAttributeValue(null, name));
    }
  }

  private static double optional(XMLStreamReader xml, String name) throws InvalidAnnotationException {
    return xml.getAttributeValue(null, name) == null ? 0 : number(xml, name);
  }

  static double[] points(String text, String where) throws InvalidAnnotationException {
    String[] pairs = text.split(";");
    if (pairs.length < 3) {
      throw new InvalidAnnotationException(where + ": a polygon needs at least 3 points; got " + pairs.length);
    }
    double[] ring = new double[pairs.length * 2];
    for (int i = 0; i < pairs.length; i++) {
      String[] xy = pairs[i].split(",");
      try {
        if (xy.length != 2) {
          throw new NumberFormatException();
        }
        ring[2 * i] = Double.parseDouble(xy[0].trim());
        ring[2 * i + 1] = Double.parseDouble(xy[1].trim());
      } catch (NumberFormatException e) {
        throw new InvalidAnnotationException(where + ": point " + i + " is not \"x,y\": '" + pairs[i] + "'");
      }
    }
    return ring;
  }

  static double[] box(double xtl, double ytl, double xbr, double ybr, double rotationDegrees) {
    double[] ring = {xtl, ytl, xbr, ytl, xbr, ybr, xtl, ybr};
    return rotate(ring, (xtl + xbr) / 2, (ytl + ybr) / 2, rotationDegrees);
  }

  static double[] ellipse(double cx, double cy, double rx, double ry, double rotationDegrees) {
    double perimeter = Math.PI * (3 * (rx + ry) - Math.sqrt((3 * rx + ry) * (rx + 3 * ry))); // Ramanujan
    int n = Math.max(16, (int) Math.ceil(perimeter / 0.5));
    double[] ring = new double[2 * n];
    for (int i = 0; i < n; i++) {
      double a = 2 * Math.PI * i / n;
      ring[2 * i] = cx + rx * Math.cos(a);
      ring[2 * i + 1] = cy + ry * Math.sin(a);
    }
    return rotate(ring, cx, cy, rotationDegrees);
  }

  /** Turns points clockwise on screen (y down) by degrees about (cx, cy). */
  private static double[] rotate(double[] ring, double cx, double cy, double degrees) {
    if (degrees == 0) {
      return ring;
    }
    double a = Math.toRadians(degrees);
    double cos = Math.cos(a);
    double sin = Math.sin(a);
    double[] out = new double[ring.length];
    for (int i = 0; i < ring.length; i += 2) {
      double dx = ring[i] - cx;
      double dy = ring[i + 1] - cy;
      out[i] = cx + dx * cos - dy * sin;
      out[i + 1] = cy + dx * sin + dy * cos;
    }
    return out;
  }

  /** A CVAT mask: row-major runs (zeros first) within its box, placed on the whole image as a COCO RLE. */
  private static CocoRle mask(XMLStreamReader xml, int width, int height, String where)
      throws InvalidAnnotationException {
    int left = (int) number(xml, "left");
    int top = (int) number(xml, "top");
    int w = (int) number(xml, "width");
    int h = (int) number(xml, "height");
    if (left < 0 || top < 0 || w < 0 || h < 0 || left + w > width || top + h > height) {
      throw new InvalidAnnotationException(String.format(Locale.ROOT,
          "%s: mask box %dx%d at (%d, %d) is not inside the %dx%d image", where, w, h, left, top, width, height));
    }
    String[] counts = attr(xml, "rle").split(",");
    byte[] full = new byte[width * height];
    long index = 0;
    boolean on = false;
    for (String c : counts) {
      long run;
      try {
        run = Long.parseLong(c.trim());
      } catch (NumberFormatException e) {
        throw new InvalidAnnotationException(where + ": rle count '" + c.trim() + "' is not an integer");
      }
      if (run < 0 || index + run > (long) w * h) {
        throw new InvalidAnnotationException(String.format(Locale.ROOT,
            "%s: rle counts exceed the mask box's %d pixels (%dx%d)", where, (long) w * h, w, h));
      }
      if (on) {
        for (long i = index; i < index + run; i++) {
          full[(top + (int) (i / w)) * width + left + (int) (i % w)] = 1;
        }
      }
      index += run;
      on = !on;
    }
    if (index != (long) w * h) {
      throw new InvalidAnnotationException(String.format(Locale.ROOT,
          "%s: rle counts sum to %d but the mask box has %d pixels (%dx%d)", where, index, (long) w * h, w, h));
    }
    return CocoRle.encode(full, width, height);
  }
}
