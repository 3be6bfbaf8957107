package io.maskbeam.transforms.common;

/** What the HTML reports (evaluate's and segment's) share. */
public final class HtmlReports {
  private HtmlReports() {}

  /**
   * A script that marks images that failed to load, so a broken report is visible at a glance, and records on the
   * body how many images there are and how many are broken (checked by tools such as headless Chromium).
   */
  public static final String IMAGE_CHECK = "<script>window.addEventListener('load',function(){var b=0;"
      + "document.querySelectorAll('img').forEach(function(i){if(!i.complete||i.naturalWidth===0){b++;"
      + "i.style.outline='3px solid red';}});document.body.setAttribute('data-broken-images',b);"
      + "document.body.setAttribute('data-images',document.querySelectorAll('img').length);});</script>\n";

  public static String escape(String s) {
    return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
