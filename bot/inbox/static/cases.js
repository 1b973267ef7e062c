// The case list refreshes itself when the live feed (live.js) reports a change, and every
// 30 s for the waiting times; labels are the advisor's (Japanese unless English was chosen).
(() => {
  const labels = JSON.parse(document.getElementById('inbox-labels').textContent);
  const list = document.getElementById('case-list');
  function esc(s) { const d = document.createElement('div'); d.textContent = s == null ? '' : String(s); return d.innerHTML; }
  const label = (table, code) => esc(labels[table][code] || code);
  let pending = null;
  async function refresh() {
    try {
      const r = await fetch(list.dataset.pollUrl + window.location.search, {headers: {'Accept': 'application/json'}});
      if (!r.ok) return;
      const data = await r.json();
      list.innerHTML = data.cases.map(c =>
        `<a class="card sla-${c.sla}" href="/inbox/cases/${c.id}" data-case="${c.id}"><span class="badge p-${c.priority}">${label('priority', c.priority)}</span> <strong>#${c.id}</strong> ${esc(c.name)} · ${label('language', c.locale)} · ${label('topic', c.topic)}<div class="muted">${label('status', c.status)} · 待ち ${c.waiting} 分${c.assigned ? ' · 担当 ' + esc(c.assigned) : ''}${c.reason_label ? ' · ' + esc(c.reason_label) : ''}</div></a>`
      ).join('') || '<p class="muted" id="empty">待っているケースはありません。</p>';
      if (document.getElementById('live-alert').hidden) document.title = (data.urgent_waiting ? `(${data.urgent_waiting}) 緊急 ` : '') + 'ケース一覧 — Inbox';
    } catch (e) { /* offline for a moment: the next event or tick tries again */ }
  }
  document.addEventListener('inbox-live', () => { clearTimeout(pending); pending = setTimeout(refresh, 200); });
  setInterval(refresh, 30000);
})();
