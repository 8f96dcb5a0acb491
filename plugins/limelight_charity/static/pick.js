// Which campaign an overlay shows: ?campaign=<id>, else the one running now (the state
// holds one entry per campaign the server shows, keyed by its id).
(function () {
  "use strict";
  window.LimelightCharity = {
    pick: function (state) {
      var only = document.body.getAttribute("data-campaign");
      if (only) return state[only] || null;
      var found = null;
      Object.keys(state).sort().forEach(function (key) {
        var item = state[key];
        if (item && item.running && (!found || String(item.starts_at) > String(found.starts_at))) {
          found = item;
        }
      });
      return found;
    },
  };
})();
