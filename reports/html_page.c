/* The frame shared by every page `weir report` writes: one inline style sheet
 * (no external CSS, fonts or scripts), verdict badges, and copyable command
 * boxes. Pages are self-contained so a run folder can be archived or mailed
 * and still open anywhere.
 */
#include <stdio.h>

#include "report.h"

static const char page_css[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2937;"
    "margin:0;background:#fff}\n"
    "main{max-width:1180px;margin:0 auto;padding:18px 22px 60px}\n"
    "h1{font-size:22px;margin:6px 0 2px}h2{font-size:17px;margin:28px 0 8px;"
    "border-bottom:1px solid #e5e7eb;padding-bottom:4px}h3{font-size:14px;margin:18px 0 4px}\n"
    "a{color:#1d4ed8;text-decoration:none}a:hover{text-decoration:underline}\n"
    ".sub{color:#6b7280;margin:0 0 12px}.note{color:#6b7280}\n"
    ".totals{display:flex;gap:12px;flex-wrap:wrap;margin:14px 0}\n"
    ".card{border:1px solid #e5e7eb;border-radius:8px;padding:8px 16px;min-width:90px}\n"
    ".card b{display:block;font-size:24px}.card span{color:#6b7280;font-size:12px}\n"
    ".card.pass b{color:#15803d}.card.fail b{color:#b91c1c}.card.error b{color:#b45309}\n"
    "table{border-collapse:collapse;margin:6px 0 10px}\n"
    "th,td{padding:4px 9px;border-bottom:1px solid #eef0f3;text-align:left;vertical-align:top;"
    "white-space:nowrap}\n"
    "td.wrap{white-space:normal;min-width:300px}\n"
    "th{background:#f8fafc;font-weight:600;font-size:12px;color:#374151}\n"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "tr.bad td{background:#fef2f2}\n"
    "code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:"
    "12px}\n"
    "pre{background:#f8fafc;border:1px solid "
    "#e5e7eb;border-radius:6px;padding:10px;overflow:auto}\n"
    ".verdict{display:inline-block;padding:1px "
    "8px;border-radius:10px;font-weight:700;font-size:12px}\n"
    ".verdict.pass{background:#dcfce7;color:#166534}.verdict.fail{background:#fee2e2;color:#991b1b}"
    "\n"
    ".verdict.error{background:#ffedd5;color:#9a3412}.verdict.unknown{background:#e5e7eb;color:#"
    "374151}\n"
    ".cmd{display:flex;align-items:center;gap:6px;margin:4px 0}\n"
    ".cmd code{user-select:all;background:#f1f5f9;border:1px solid #e2e8f0;border-radius:5px;"
    "padding:4px 8px;white-space:pre-wrap;word-break:break-all}\n"
    ".cmd button{font-size:11px;padding:2px 8px;border:1px solid #cbd5e1;border-radius:4px;"
    "background:#fff;cursor:pointer}\n"
    ".grid{display:flex;flex-wrap:wrap;gap:2px;margin:6px 0 10px;max-width:1000px}\n"
    ".grid>*{width:12px;height:12px;border-radius:2px;display:block}\n"
    ".grid .pass{background:#22c55e}.grid .fail{background:#ef4444}"
    ".grid .error{background:#f59e0b}.grid .unknown{background:#9ca3af}\n"
    ".grid span{opacity:.45}\n"
    ".scroll{overflow-x:auto}svg.chart{display:block;max-width:100%;height:auto}\n"
    "svg text{font:11px system-ui,sans-serif;fill:#374151}svg "
    "text.tick{font-size:10px;fill:#6b7280}\n"
    "svg text.lane{font-weight:600}svg text.flabel{fill:#991b1b;font-size:10px}\n"
    "svg text.slabel{font-size:10px;fill:#78350f}svg text.elabel{font-size:10px;fill:#92400e}\n"
    "svg text.tlabel{font-size:10px;fill:#6d28d9}\n"
    ".legend{display:flex;gap:16px;flex-wrap:wrap;font-size:12px;color:#4b5563;margin:4px 0 8px}\n"
    ".legend i{display:inline-block;width:18px;height:10px;margin-right:5px;vertical-align:-1px}\n"
    "figure.hist{display:inline-block;margin:6px 24px 6px "
    "0}figcaption{font-size:12px;color:#374151}\n"
    "details{margin:8px 0}summary{cursor:pointer;font-weight:600}\n"
    ".fails{color:#991b1b;margin:4px 0 8px 18px;padding:0}\n"
    "dl.head{display:grid;grid-template-columns:max-content 1fr;gap:4px 14px;margin:10px 0}\n"
    "dl.head dt{color:#6b7280}dl.head dd{margin:0}\n"
    ".flows{display:flex;flex-wrap:wrap;gap:14px 22px;margin:6px 0 10px}\n"
    "figure.flow{margin:0;width:540px;max-width:100%}figure.flow figcaption{margin:0 0 2px}\n"
    "table.flowfig{margin:2px 0 0;font-size:12px;width:100%;table-layout:fixed}"
    "table.flowfig th,table.flowfig td{padding:2px 6px;white-space:normal}\n"
    "svg text.thlabel{font-size:10px;fill:#b91c1c}svg text.pklabel{font-size:10px;fill:#1e3a8a;"
    "font-weight:600}svg text.thlabel,svg text.pklabel{paint-order:stroke;stroke:#fff;"
    "stroke-width:3px;stroke-linejoin:round}svg text.mlabel{font-size:10px;"
    "font-weight:700}\n"
    ".problems{background:#fffbeb;border:1px solid #fcd34d;border-radius:6px;padding:2px "
    "12px;margin:6px 0 10px}.problems ul{margin:4px 0 8px;padding-left:18px}\n";

/* Copies the text of the <code> next to the button; works on file:// pages
 * where the clipboard API may be refused. */
static const char page_js[] =
    "function weirCopy(b){var c=b.parentNode.querySelector('code');var t=c.textContent;"
    "function old(){var r=document.createRange();r.selectNodeContents(c);var s=getSelection();"
    "s.removeAllRanges();s.addRange(r);try{document.execCommand('copy')}catch(e){}}"
    "if(navigator.clipboard){navigator.clipboard.writeText(t).catch(old)}else{old()}"
    "b.textContent='copied';setTimeout(function(){b.textContent='copy'},1200)}";

void weir_report_html_begin(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n<title>",
          f);
    weir_report_put_esc(f, title);
    fprintf(f, "</title>\n<style>\n%s</style>\n<script>%s</script>\n</head><body><main>\n",
            page_css, page_js);
}

void weir_report_html_end(FILE *f)
{
    fputs("</main></body></html>\n", f);
}

void weir_report_html_verdict(FILE *f, weir_report_verdict v)
{
    static const char *const cls[] = {"pass", "fail", "error", "unknown"};
    fprintf(f, "<span class=\"verdict %s\">%s</span>", cls[v <= WEIR_REPORT_UNKNOWN ? v : 3],
            weir_report_verdict_name(v));
}

void weir_report_html_command(FILE *f, const char *cmd)
{
    fputs("<div class=\"cmd\"><code>", f);
    weir_report_put_esc(f, cmd);
    fputs("</code><button type=\"button\" onclick=\"weirCopy(this)\">copy</button></div>\n", f);
}
