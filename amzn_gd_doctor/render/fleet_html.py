"""The fleet summary as one self-contained HTML page: inline CSS, SVG charts drawn here, and
a small script that fills, filters and sorts the instance table. Nothing is fetched, so the
page opens offline and from an S3 bucket alike."""

import html
import io
import itertools
from typing import Any, Iterator, List, TextIO, Tuple

from ..fleet.summary import Count, Summary
from .fleet import stream_json, summary_dict

# Rows the table shows at once; the filter reaches every row, the page stays responsive.
TABLE_ROWS = 500
BAR_WIDTH = 360
COLORS = {"HEALTHY": "#2e7d32", "UNHEALTHY": "#c62828", "UNKNOWN": "#f9a825"}

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
.cards{display:flex;gap:12px}.card{border:1px solid #ccc;border-radius:6px;padding:8px 14px}
.card b{display:block;font-size:22px}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}
th{cursor:pointer;background:#f4f4f4}svg text{font-size:12px}
input{padding:4px;width:320px}
"""

SCRIPT = """
(function(){
var rows=JSON.parse(document.getElementById('rows').textContent);
var body=document.querySelector('#instances tbody'),filter=document.getElementById('filter');
var shown=document.getElementById('shown'),key=0,asc=true,LIMIT=%d;
function draw(){
  var q=filter.value.toLowerCase(),out=[],n=0;
  var list=rows.filter(function(r){return !q||r.join(' ').toLowerCase().indexOf(q)>=0;});
  list.sort(function(a,b){var x=a[key],y=b[key];return (x<y?-1:x>y?1:0)*(asc?1:-1);});
  list.slice(0,LIMIT).forEach(function(r){
    var tr=document.createElement('tr');
    r.forEach(function(v){
      var td=document.createElement('td');td.textContent=v;tr.appendChild(td);
    });
    out.push(tr);
  });
  body.replaceChildren.apply(body,out);
  shown.textContent=list.length;
}
document.querySelectorAll('#instances th').forEach(function(th,i){
  th.addEventListener('click',function(){asc=(key===i)?!asc:true;key=i;draw();});
});
filter.addEventListener('input',draw);
draw();
})();
"""


def _bars(items: "List[Tuple[str, int, str]]", chart_id: str) -> str:
    """A horizontal bar chart as inline SVG: one row per (label, count, colour)."""
    top = max((n for _, n, _ in items), default=0) or 1
    height = 22 * len(items) + 4
    parts = [f'<svg id="{chart_id}" width="{BAR_WIDTH + 420}" height="{height}" role="img">']
    for row, (label, count, color) in enumerate(items):
        y = 22 * row + 2
        width = max(1, round(BAR_WIDTH * count / top)) if count else 0
        parts.append(
            f'<text x="0" y="{y + 14}">{html.escape(label[:60])}</text>'
            f'<rect x="400" y="{y}" width="{width}" height="18" fill="{color}"></rect>'
            f'<text x="{405 + width}" y="{y + 14}" class="n">{count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _count_bars(items: "Tuple[Count, ...]", chart_id: str) -> str:
    return _bars([(c.name, c.count, "#1565c0") for c in items], chart_id)


def _script_json(item: Any) -> "Iterator[str]":
    # "</" inside a script element would end it: JSON escapes it as "<\\/". Every piece holds
    # whole strings, so no "</" is split between two.
    return (piece.replace("</", "<\\/") for piece in stream_json(item, indent=None))


def write_html(s: Summary, out: "TextIO") -> None:
    e = html.escape
    cards = "".join(
        f'<div class="card" id="count-{c.name}"><b>{c.count}</b>{c.name}</div>' for c in s.by_status
    )
    issues = "".join(
        f'<tr><td>{i.count}</td><td>{e(i.issue_type)}</td><td>"{e(i.issue_message)}"</td>'
        + (f'<td><a href="{e(i.doc_url)}">how to fix</a></td>' if i.doc_url else "<td></td>")
        + f"<td>{e(', '.join(itertools.islice(s.issue_ids(i), 5)))}"
        + f"{' ...' if i.count > 5 else ''}</td></tr>"
        for i in s.by_issue
    )
    rows = (
        [r.instance_id, r.status, r.issue_type, r.issue_message, r.os, r.kernel, r.reason]
        for r in s.rows()
    )
    status_chart = _bars(
        [(c.name, c.count, COLORS.get(c.name, "#757575")) for c in s.by_status], "chart-status"
    )
    issue_chart = _bars(
        [(f"{i.issue_type} / {i.issue_message}", i.count, "#c62828") for i in s.by_issue],
        "chart-issues",
    )
    out.write(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>amzn-gd-doctor fleet summary</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>GuardDuty Runtime Monitoring: fleet summary of {s.instances} outputs</h1>"
        f'<div class="cards" id="instances-count" data-count="{s.instances}">{cards}</div>'
        f"<h2>Coverage status</h2>{status_chart}"
        f"<h2>Console issues</h2>{issue_chart}"
        '<table id="issues"><thead><tr><th>Count</th><th>Issue type</th><th>Issue message</th>'
        f"<th>Fix</th><th>Instances</th></tr></thead><tbody>{issues}</tbody></table>"
        f"<h2>OS</h2>{_count_bars(s.by_os, 'chart-os')}"
        f"<h2>Kernel family</h2>{_count_bars(s.by_kernel_family, 'chart-kernel')}"
        f"<h2>Root causes (failing checks)</h2>{_count_bars(s.root_causes, 'chart-causes')}"
        '<h2>Instances</h2><p><input id="filter" placeholder="Filter: instance, status, issue, '
        f'OS..."> <span id="shown">0</span> of {s.instances} match (first {TABLE_ROWS} shown)'
        '</p><table id="instances"><thead><tr><th>Instance</th><th>Status</th>'
        "<th>Issue type</th><th>Issue message</th><th>OS</th><th>Kernel</th><th>Reason</th>"
        "</tr></thead><tbody></tbody></table>"
        '<script type="application/json" id="rows">'
    )
    out.writelines(_script_json(rows))
    out.write('</script><script type="application/json" id="summary">')
    out.writelines(_script_json(summary_dict(s, indent=None)))
    out.write(f"</script><script>{SCRIPT % TABLE_ROWS}</script></body></html>\n")


def render_html(s: Summary) -> str:
    buf = io.StringIO()
    write_html(s, buf)
    return buf.getvalue()
