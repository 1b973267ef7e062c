// The case list refreshes itself and beeps when a new urgent case arrives.
(() => {
  const names = JSON.parse(document.getElementById('language-names').textContent);
  const list = document.getElementById('case-list');
  let known = new Set([...list.querySelectorAll('[data-case]')].map(a => a.dataset.case));
  function esc(s) { const d = document.createElement('div'); d.textContent = s == null ? '' : String(s); return d.innerHTML; }
  function beep() { try { const c = new AudioContext(), o = c.createOscillator(); o.connect(c.destination); o.frequency.value = 880; o.start(); setTimeout(() => o.stop(), 300); } catch (e) {} }
  async function refresh() {
    try {
      const r = await fetch(list.dataset.pollUrl + window.location.search, {headers: {'Accept': 'application/json'}});
      if (!r.ok) return;
      const data = await r.json();
      let newUrgent = false;
      list.innerHTML = data.cases.map(c => {
        if (!known.has(String(c.id)) && c.priority === 'urgent') newUrgent = true;
        return `<a class="card sla-${c.sla}" href="/inbox/cases/${c.id}" data-case="${c.id}"><span class="badge p-${c.priority}">${c.priority}</span> <strong>#${c.id}</strong> ${esc(c.name)} · ${esc(names[c.locale] || c.locale)} · ${esc(c.topic)}<div class="muted">${esc(c.status)} · 待ち ${c.waiting} 分${c.assigned ? ' · 担当 ' + esc(c.assigned) : ''}</div></a>`;
      }).join('') || '<p class="muted" id="empty">待っているケースはありません。</p>';
      known = new Set(data.cases.map(c => String(c.id)));
      document.title = (data.urgent_waiting ? `(${data.urgent_waiting}) 緊急 ` : '') + 'ケース一覧 — Inbox';
      if (newUrgent) beep();
    } catch (e) { /* offline for a moment: try again next time */ }
  }
  setInterval(refresh, 3000);
})();
