'use strict';
// The Perfload dashboard: one card per machine, updated live from socket.io.
(function () {
  const list = document.getElementById('machines');
  const empty = document.getElementById('empty');
  const status = document.getElementById('status');
  const template = document.getElementById('machine-card');
  const cards = new Map();

  function gib(bytes) {
    return (bytes / 1024 ** 3).toFixed(1) + ' GiB';
  }

  function duration(seconds) {
    const d = Math.floor(seconds / 86400);
    const h = Math.floor((seconds % 86400) / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    return (d ? d + 'd ' : '') + h + 'h ' + m + 'm';
  }

  function set(card, selector, text) {
    card.querySelector(selector).textContent = text;
  }

  function render(m) {
    let card = cards.get(m.id);
    if (!card) {
      card = template.content.firstElementChild.cloneNode(true);
      card.dataset.id = m.id;
      cards.set(m.id, card);
      list.appendChild(card);
      empty.hidden = true;
    }
    const online = m.online !== false;
    card.dataset.state = online ? 'online' : 'offline';
    set(card, '.name', m.id);
    set(card, '.badge', online ? 'online' : 'offline');
    set(card, '.os', m.osType || '');
    if (Number.isFinite(m.cpuLoad)) {
      card.querySelector('.cpu-fill').style.width = Math.min(100, m.cpuLoad) + '%';
      set(card, '.cpu', m.cpuLoad.toFixed(1) + ' %');
    }
    if (Number.isFinite(m.memUsage)) {
      card.querySelector('.mem-fill').style.width = m.memUsage * 100 + '%';
      set(card, '.mem', (m.memUsage * 100).toFixed(1) + ' %');
    }
    set(card, '.cpu-model', (m.cpuModel || '?') + (m.cpuSpeed ? ' @ ' + m.cpuSpeed + ' MHz' : ''));
    set(card, '.cores', m.numCores ?? '?');
    set(card, '.mem-detail', Number.isFinite(m.usedMem) ? gib(m.usedMem) + ' of ' + gib(m.totalMem) : '?');
    set(card, '.uptime', Number.isFinite(m.upTime) ? duration(m.upTime) : '?');
    set(card, '.worker', m.worker ?? '?');
  }

  // The dashboard token comes in the link's fragment, which never reaches a server log.
  const uiToken = new URLSearchParams(location.hash.slice(1)).get('ui') || '';
  const socket = io({ auth: { role: 'ui', token: uiToken } });
  socket.on('connect_error', function (err) {
    status.dataset.state = 'disconnected';
    status.textContent = err.message === 'unauthorized' ? 'the link lacks the dashboard token (#ui=…)' : err.message;
  });
  socket.on('welcome', function (w) {
    status.dataset.state = 'connected';
    status.textContent = 'live, served by worker ' + w.worker + ' (pid ' + w.pid + ')';
  });
  socket.on('disconnect', function () {
    status.dataset.state = 'disconnected';
    status.textContent = 'disconnected, reconnecting…';
  });
  // The machines online when this page (re)connects; the ones that went
  // away meanwhile are shown offline.
  socket.on('machines', function (machines) {
    const seen = new Set();
    machines.forEach(function (m) {
      seen.add(m.id);
      render(m);
    });
    cards.forEach(function (card, id) {
      if (seen.has(id)) return;
      card.dataset.state = 'offline';
      set(card, '.badge', 'offline');
    });
    list.dataset.synced = 'yes';
  });
  socket.on('machine', render);
})();
