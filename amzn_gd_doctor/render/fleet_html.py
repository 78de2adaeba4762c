"""The fleet summary as one self-contained HTML page an operator can work from: inline CSS,
bar charts drawn here (labels in HTML, so they wrap instead of being cut; each bar and its count
in an SVG that keeps the count inside its box), the console issues with their fix steps from the
catalogue, and a table of every instance that a small script fills, filters (free text, and a
status selector; a status word in the filter matches that status only) and sorts (headers show
their direction; numbers inside text, such as kernel versions, sort as numbers).

Nothing is fetched, so the page opens offline and from an S3 bucket alike. Every string of the
outputs is shown with fleet_safe's visible escapes, and the JSON inside script elements has its
``<`` escaped, so a field can neither end a script element nor hide text.
"""

import html
import io
import itertools
from typing import Any, Dict, Iterator, List, TextIO, Tuple

from ..fleet.parse import UNREADABLE
from ..fleet.summary import UNDECIDED, UNREADABLE_ROWS, Count, Groups, IssueCount, Summary
from .fleet import repeats_note, stream_json, summary_dict
from .fleet_safe import script_json, shown

# Rows the table shows at once; the filter reaches every row, the page stays responsive.
TABLE_ROWS = 500
# Instance ids shown beside each issue, and reasons shown for the undecided and unreadable.
ISSUE_IDS = 5
REASON_GROUPS = 10
# A bar longer than this share of its box has its count inside it (at its end), a shorter one
# right after it: either way the count stays inside the box, which is at least MIN_BAR_PX wide.
INSIDE_SHARE = 0.6
MIN_BAR_PX = 120
STATUS_COLORS = {"HEALTHY": "#2e7d32", "UNHEALTHY": "#c62828", "UNKNOWN": "#f9a825"}
OTHER_COLOR = "#616161"
ISSUE_COLOR = "#c62828"
COUNT_COLOR = "#1565c0"
# Colours under which a count inside the bar is written dark rather than white.
LIGHT_COLORS = frozenset(("#f9a825",))
# The instance table's columns; the last is the link to the fix. Those in VERSION_COLUMNS sort
# numbers inside them as numbers (5.4 before 5.10), the others as text (instance ids are hex).
COLUMNS = (
    "Instance",
    "Status",
    "Console issue",
    "Root causes",
    "OS",
    "Kernel",
    "Command id",
    "Reason",
    "Fix",
)
VERSION_COLUMNS = frozenset(("OS", "Kernel"))

STYLE = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;padding:16px 20px;max-width:1400px;
color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 12px}h2{font-size:16px;margin:28px 0 8px}h3{font-size:14px;margin:0}
a{color:#0550ae}
.muted{color:#57606a}
.cards{display:flex;flex-wrap:wrap;gap:8px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:6px 12px;min-width:7.5em}
.card b{display:block;font-size:22px}
.note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:6px 10px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,560px),1fr));
gap:0 40px}
.chart{display:grid;grid-template-columns:minmax(6em,45%) minmax(MINpx,1fr);gap:6px 12px;
align-items:center;margin:0}
.chart .label{overflow-wrap:anywhere}
.chart svg{display:block;width:100%;height:20px}
.chart text{font-size:12px;font-variant-numeric:tabular-nums}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #d8dee4;padding:4px 8px;text-align:left;vertical-align:top}
#instances td:nth-child(-n+2),#instances td:nth-child(9),#issues td:nth-child(4){
white-space:nowrap}
#instances td:nth-child(3),#instances td:nth-child(4),#instances td:nth-child(8){max-width:16em}
#instances td:nth-child(6){max-width:13em;overflow-wrap:anywhere}
#instances td:nth-child(5){max-width:9em}
#instances td:nth-child(7){max-width:10em;overflow-wrap:anywhere}
.fix p,.fix li,#issues td{overflow-wrap:anywhere}
th{background:#f6f8fa;white-space:nowrap}
th button{font:inherit;font-weight:600;border:0;background:none;padding:0;cursor:pointer;
color:inherit}
th .arrow{display:inline-block;width:1.1em;text-align:center;color:#0550ae}
th[aria-sort=none] .arrow{color:#8c959f}
.controls{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:8px 0}
input,select{font:inherit;padding:4px 6px}
#filter{flex:1 1 16em;min-width:0;max-width:32em}
.fix{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;margin:8px 0}
.fix:target{outline:3px solid #0969da}
.fix ol{margin:6px 0;padding-left:1.4em}
@media (max-width:700px){
body{padding:10px}
.chart{grid-template-columns:minmax(0,1fr);gap:2px}
.chart svg{margin-bottom:6px}
#instances thead tr{display:flex;flex-wrap:wrap;gap:4px 12px}
#instances thead th{border:0;padding:2px 4px}
#instances tbody tr{display:block;border-bottom:2px solid #d0d7de;padding:4px 0}
#instances td,#instances td:nth-child(n){display:grid;grid-template-columns:7.5em minmax(0,1fr);
gap:8px;border:0;padding:1px 4px;white-space:normal;overflow-wrap:anywhere;max-width:none}
#instances td::before{content:attr(data-label);font-weight:600;color:#57606a}
#instances td:empty{display:none}
#issues thead{display:none}
#issues tr{display:block;border-bottom:2px solid #d0d7de;padding:4px 0}
#issues td{display:block;border:0;padding:1px 4px}
}
""".replace("MIN", str(MIN_BAR_PX))

SCRIPT = """
(function(){
'use strict';
var rows=JSON.parse(document.getElementById('rows').textContent);
var COLS=JSON.parse(document.getElementById('columns').textContent);
var FIX=COLS.length-1,STATUS=1,LIMIT=%d;
var STATUSES=['healthy','unhealthy','unknown','unreadable'];
var body=document.querySelector('#instances tbody'),filter=document.getElementById('filter');
var status=document.getElementById('status'),shown=document.getElementById('shown');
var heads=[].slice.call(document.querySelectorAll('#instances thead th[data-col]'));
var key=0,asc=true,text=new Intl.Collator('en'),version=new Intl.Collator('en',{numeric:true});
var order=text;
rows.forEach(function(r){r.hay=r.slice(0,FIX).join('\\n').toLowerCase();});
function keep(r,terms,want){
  if(want&&r[STATUS]!==want)return false;
  for(var i=0;i<terms.length;i++){
    var t=terms[i];
    if(STATUSES.indexOf(t)>=0){if(r[STATUS].toLowerCase()!==t)return false;}
    else if(r.hay.indexOf(t)<0)return false;
  }
  return true;
}
function cell(tr,i,text){
  var td=document.createElement('td');td.setAttribute('data-label',COLS[i]);
  if(text!==null)td.textContent=text;tr.appendChild(td);return td;
}
function draw(){
  var terms=filter.value.toLowerCase().split(/\\s+/).filter(Boolean),want=status.value;
  var list=rows.filter(function(r){return keep(r,terms,want);});
  list.sort(function(a,b){
    return order.compare(a[key],b[key])*(asc?1:-1)||text.compare(a[0],b[0]);
  });
  var out=list.slice(0,LIMIT).map(function(r){
    var tr=document.createElement('tr');
    for(var i=0;i<FIX;i++)cell(tr,i,r[i]);
    var td=cell(tr,FIX,null);
    if(r[FIX]){var a=document.createElement('a');a.href=r[FIX];a.textContent=r[FIX+1];
      td.appendChild(a);}
    return tr;
  });
  body.replaceChildren.apply(body,out);
  shown.textContent=list.length;
  heads.forEach(function(th){
    var i=+th.getAttribute('data-col'),on=i===key;
    th.setAttribute('aria-sort',on?(asc?'ascending':'descending'):'none');
    th.querySelector('.arrow').textContent=on?(asc?'\\u25b2':'\\u25bc'):'\\u2195';
  });
}
heads.forEach(function(th){
  th.querySelector('button').addEventListener('click',function(){
    var i=+th.getAttribute('data-col');asc=(key===i)?!asc:true;key=i;
    order=th.hasAttribute('data-versions')?version:text;draw();
  });
});
filter.addEventListener('input',draw);
status.addEventListener('change',draw);
draw();
})();
"""


def _e(item: object) -> str:
    """A string of the outputs, as the page shows it: visible escapes, then HTML-escaped."""
    return html.escape(shown(str(item)))


def _bar(label: str, count: int, top: int, color: str) -> str:
    """One row of a chart: the label (HTML, wraps) and an SVG of the bar and its count. The
    bar's length is a percentage of the SVG's width, so it follows the page's width."""
    share = count / top if top else 0.0
    pct = f"{100 * share:.2f}%"
    if share > INSIDE_SHARE:
        fill = "#1f2328" if color in LIGHT_COLORS else "#fff"
        value = f'<text x="{pct}" dx="-5" y="15" text-anchor="end" fill="{fill}">{count}</text>'
    else:
        value = f'<text x="{pct}" dx="5" y="15" fill="#1f2328">{count}</text>'
    width = pct if count else "0"
    return (
        f'<span class="label">{label}</span>'
        f'<svg role="img" aria-label="{label}: {count}">'
        f'<rect x="0" y="2" width="{width}" height="16" fill="{color}"></rect>{value}</svg>'
    )


def _chart(chart_id: str, title: str, items: "List[Tuple[str, int, str]]") -> str:
    """A bar chart: (label already escaped, count, colour) per row, longest bar = the most."""
    if not items:
        return f'<h2>{title}</h2><p class="muted" id="{chart_id}">None.</p>'
    top = max(n for _, n, _ in items)
    rows = "".join(_bar(label, n, top, color) for label, n, color in items)
    return (
        f'<section><h2>{title}</h2><figure class="chart" id="{chart_id}">{rows}</figure></section>'
    )


def _count_chart(chart_id: str, title: str, items: "Tuple[Count, ...]") -> str:
    return _chart(chart_id, title, [(_e(c.name), c.count, COUNT_COLOR) for c in items])


def _issue_label(issue_type: str, message: str) -> str:
    """``Type / "message"``, or the type alone when the console shows no message."""
    if not message:
        return _e(issue_type)
    return f"{_e(issue_type)} / &quot;{_e(message)}&quot;"


def _instances(n: int) -> str:
    return f"{n} instance" if n == 1 else f"{n} instances"


def _fix_section(n: int, issue: IssueCount) -> str:
    """The catalogue's fix steps for a console issue, with its documentation link."""
    from .. import catalog

    known = catalog.issues().get(issue.code) if issue.code else None
    label = _issue_label(issue.issue_type, issue.issue_message)
    head = (
        f'<section class="fix" id="fix-{n}"><h3>{label}'
        f' <span class="muted">({_instances(issue.count)})</span></h3>'
    )
    if known is None:
        return (
            head + "<p>Not in this doctor's catalogue (a report of a newer doctor, or not one of "
            "the doctor's): read the instance's report.</p></section>"
        )
    steps = "".join(f"<li>{html.escape(step)}</li>" for step in known.remediation)
    return (
        head
        + f"<p>{html.escape(known.summary)}</p><ol>{steps}</ol>"
        + f'<p><a href="{html.escape(known.doc_url)}">Documentation: {html.escape(known.doc_url)}'
        + "</a></p></section>"
    )


def _reasons(s: Summary, section: str, groups: Groups, total: int, anchor: str, text: str) -> str:
    """The undecided or unreadable instances by reason: count, reason, a few ids."""
    head = (
        f'<section class="fix" id="{anchor}"><h3>{text} <span class="muted">({total})</span></h3>'
    )
    if not total:
        return head + '<p class="muted">None.</p></section>'
    shown_groups = groups.counts[:REASON_GROUPS]
    ids = s.reason_ids(section, shown_groups, ISSUE_IDS)
    items = "".join(
        f"<li><b>{g.count}</b> {_e(g.name)}<br>"
        f'<span class="muted">{_e(", ".join(ids[g.name]))}'
        f"{' ...' if g.count > len(ids[g.name]) else ''}</span></li>"
        for g in shown_groups
    )
    more = sum(g.count for g in groups.counts[REASON_GROUPS:]) + groups.other
    if more:
        items += f'<li class="muted">{more} more, for other reasons (the CSV lists each)</li>'
    return head + f"<ul>{items}</ul></section>"


def _rows(s: Summary, anchors: "Dict[Tuple[str, str], str]") -> "Iterator[List[str]]":
    """Each instance as the table shows it, with the link to its fix and that link's text."""
    for r in s.rows():
        if r.status == UNREADABLE:
            fix, text = "#unreadable", "why unreadable"
        elif r.issue_type:
            fix, text = anchors.get((r.issue_type, r.issue_message), ""), "how to fix"
        elif r.status == "UNKNOWN":
            fix, text = "#undecided", "why undecided"
        else:
            fix, text = "", ""
        issue = f"{r.issue_type} / {r.issue_message}" if r.issue_message else r.issue_type
        yield [
            shown(r.instance_id),
            r.status,
            shown(issue),
            shown(" ".join(r.root_causes)),
            shown(r.os),
            shown(r.kernel),
            shown(r.command_id),
            shown(r.reason),
            fix,
            text,
        ]


def _script_json(item: Any) -> "Iterator[str]":
    return (script_json(piece) for piece in stream_json(item, indent=None))


def _issues_table(s: Summary) -> str:
    rows = []
    for n, i in enumerate(s.by_issue):
        ids = ", ".join(shown(x) for x in itertools.islice(s.issue_ids(i), ISSUE_IDS))
        message = _e(i.issue_message) if i.issue_message else '<span class="muted">(none)</span>'
        docs = f' &middot; <a href="{html.escape(i.doc_url)}">docs</a>' if i.doc_url else ""
        rows.append(
            f"<tr><td>{i.count}</td><td>{_e(i.issue_type)}</td><td>{message}</td>"
            f'<td><a href="#fix-{n}">how to fix</a>{docs}</td>'
            f"<td>{html.escape(ids)}{' ...' if i.count > ISSUE_IDS else ''}</td></tr>"
        )
    return (
        '<div class="table-wrap"><table id="issues"><thead><tr><th>Count</th><th>Issue type</th>'
        "<th>Issue message</th><th>Fix</th><th>Instances</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _head(s: Summary) -> str:
    outputs = f" ({s.outputs} outputs)" if s.outputs != s.instances else ""
    cards = "".join(
        f'<div class="card" id="count-{c.name}"><b>{c.count}</b>{c.name}</div>' for c in s.by_status
    )
    note = repeats_note(s)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>amzn-gd-doctor fleet summary</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>GuardDuty Runtime Monitoring: fleet summary of {s.instances} instances{outputs}</h1>"
        f'<div class="cards" id="instances-count" data-count="{s.instances}">{cards}</div>'
        + (f'<p class="note" id="repeated">{html.escape(note)}.</p>' if note else "")
    )


def _charts(s: Summary) -> str:
    status = [(c.name, c.count, STATUS_COLORS.get(c.name, OTHER_COLOR)) for c in s.by_status]
    issues = [
        (_issue_label(i.issue_type, i.issue_message), i.count, ISSUE_COLOR) for i in s.by_issue
    ]
    parts = [
        _chart("chart-status", "Coverage status", status),
        _chart("chart-issues", "Console issues", issues),
        _count_chart("chart-causes", "Root causes (failing checks)", s.root_causes),
        _count_chart("chart-os", "OS", s.by_os),
        _count_chart("chart-kernel", "Kernel family", s.by_kernel_family),
    ]
    runs = s.by_command_id
    if len(runs.counts) > 1:
        parts.append(_count_chart("chart-runs", "Runs (command ids)", runs.counts))
    return f'<div class="charts">{"".join(parts)}</div>'


def _table_head() -> str:
    cells = "".join(
        f'<th data-col="{n}" aria-sort="none"{" data-versions" if name in VERSION_COLUMNS else ""}>'
        f'<button type="button">{name}'
        '<span class="arrow" aria-hidden="true"></span></button></th>'
        for n, name in enumerate(COLUMNS[:-1])
    )
    return f"<thead><tr>{cells}<th>{COLUMNS[-1]}</th></tr></thead>"


def write_html(s: Summary, out: "TextIO") -> None:
    anchors = {(i.issue_type, i.issue_message): f"#fix-{n}" for n, i in enumerate(s.by_issue)}
    options = "".join(
        f'<option value="{c.name}">{c.name} ({c.count})</option>' for c in s.by_status
    )
    fixes = "".join(_fix_section(n, i) for n, i in enumerate(s.by_issue))
    out.write(
        _head(s)
        + _charts(s)
        + "<h2>Console issues</h2>"
        + (_issues_table(s) if s.by_issue else '<p class="muted">None predicted.</p>')
        + '<h2 id="instances-title">Instances</h2><div class="controls">'
        + '<label for="status">Status</label><select id="status">'
        + f'<option value="">All ({s.instances})</option>{options}</select>'
        + '<input id="filter" type="search" aria-label="Filter" placeholder="Filter: instance, '
        + 'issue, cause, OS, kernel, command id...">'
        + f'<span><span id="shown">0</span> of {s.instances} match (the first {TABLE_ROWS} shown)'
        + "</span></div>"
        + '<div class="table-wrap"><table id="instances">'
        + _table_head()
        + "<tbody></tbody></table></div>"
        + '<h2 id="fixes">How to fix</h2>'
        + fixes
        + _reasons(s, UNDECIDED, s.undecided_reasons, s.undecided, "undecided", "Undecided")
        + _reasons(
            s, UNREADABLE_ROWS, s.unreadable_reasons, s.unreadable, "unreadable", "Unreadable"
        )
        + '<script type="application/json" id="columns">'
        + script_json(stream_json_text(list(COLUMNS)))
        + '</script><script type="application/json" id="rows">'
    )
    out.writelines(_script_json(_rows(s, anchors)))
    out.write('</script><script type="application/json" id="summary">')
    out.writelines(_script_json(summary_dict(s, indent=None)))
    out.write(f"</script><script>{SCRIPT % TABLE_ROWS}</script></body></html>\n")


def stream_json_text(item: Any) -> str:
    return "".join(stream_json(item, indent=None))


def render_html(s: Summary) -> str:
    buf = io.StringIO()
    write_html(s, buf)
    return buf.getvalue()
