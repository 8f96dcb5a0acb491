// The room's dashboard page: live lines with delete and time-out, member links (copy,
// revoke), and the post editor with a preview and image upload. Calls go through
// limelightApi (CSRF guard). Everything a member typed goes in with textContent.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const errorLine = $("room-error");
  let posts = [];

  function showError(err) {
    errorLine.textContent = err ? String(err.message || err) : "";
    errorLine.hidden = !err;
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function button(label, onClick, cls) {
    const b = el("button", label, cls);
    b.type = "button";
    b.addEventListener("click", onClick);
    return b;
  }

  function isServerPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/";
  }

  // -- live lines -----------------------------------------------------------------------

  function viewerOf(key, name) {
    const cut = key.indexOf(":");
    return { platform: key.slice(0, cut), id: key.slice(cut + 1), name: name };
  }

  function renderLines(data) {
    const list = $("room-lines");
    list.replaceChildren();
    if (!data.lines.length) list.appendChild(el("li", "No messages yet.", "empty"));
    data.lines.forEach((line) => {
      const li = el("li");
      li.appendChild(el("span", line.name, "name"));
      (line.fragments || []).forEach((part) => {
        if (typeof part.emote === "string" && isServerPath(part.url)) {
          const img = el("img", undefined, "emote");
          img.src = part.url;
          img.alt = part.emote;
          li.appendChild(img);
        } else if (typeof part.text === "string") {
          li.appendChild(document.createTextNode(part.text));
        }
      });
      li.appendChild(button("Delete", () =>
        limelightApi(`/api/room/lines/${encodeURIComponent(line.id)}/delete`, { method: "POST", body: "{}" })
          .then(refreshLines, showError)));
      if (line.viewer) {
        li.appendChild(button("Time out", () =>
          limelightApi("/api/room/timeout", {
            method: "POST",
            body: JSON.stringify({ viewer: viewerOf(line.viewer, line.name) }),
          }).then(refreshLines, showError)));
      }
      list.appendChild(li);
    });
    const online = data.online.map((v) => v.name).join(", ");
    $("room-online").textContent = online ? `In the room: ${online}` : "Nobody in the room.";
  }

  function refreshLines() {
    return limelightApi("/api/room/lines").then(renderLines, showError);
  }

  // -- member links ---------------------------------------------------------------------

  function renderMembers(members) {
    const body = $("room-members");
    body.replaceChildren();
    if (!members.length) {
      const td = el("td", "Nobody yet: members appear here once they join or ask for a link.", "empty");
      td.colSpan = 4;
      body.appendChild(el("tr")).appendChild(td);
    }
    members.forEach((m) => {
      const tr = el("tr");
      tr.appendChild(el("td", `${m.viewer.name || m.viewer.id} (${m.viewer.platform})${m.online ? " · in the room" : ""}`));
      tr.appendChild(el("td", m.allowed ? m.tier : "not a member"));
      const linkCell = el("td");
      if (m.link) {
        const input = el("input");
        input.readOnly = true;
        input.value = m.link;
        linkCell.appendChild(input);
        linkCell.appendChild(button("Copy", () => {
          input.select();
          (navigator.clipboard ? navigator.clipboard.writeText(m.link) : Promise.reject())
            .catch(() => document.execCommand("copy"));
        }));
      } else {
        linkCell.textContent = "—";
      }
      tr.appendChild(linkCell);
      const actions = el("td");
      actions.appendChild(button("Revoke link", async () => {
        if ((await window.limelightDialog({ title: "Revoke this link?", message: "The old link stops working at once; !room gives the member a new one.", confirm: "Revoke", danger: true })) === null) return;
        limelightApi("/api/room/members/revoke", { method: "POST", body: JSON.stringify({ viewer: m.viewer }) })
          .then(refreshMembers, showError);
      }, "danger"));
      if (m.muted_until) {
        actions.appendChild(button("Lift time-out", () =>
          limelightApi("/api/room/timeout", { method: "POST", body: JSON.stringify({ viewer: m.viewer, seconds: 0 }) })
            .then(refreshMembers, showError)));
      }
      tr.appendChild(actions);
      body.appendChild(tr);
    });
  }

  function refreshMembers() {
    const q = new FormData($("room-member-search")).get("q") || "";
    return limelightApi(`/api/room/members?q=${encodeURIComponent(q)}`)
      .then((data) => renderMembers(data.members), showError);
  }

  $("room-member-search").addEventListener("submit", (event) => {
    event.preventDefault();
    refreshMembers();
  });

  $("room-member-add").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const viewer = { platform: form.get("platform"), id: form.get("id"), name: form.get("name") || "" };
    limelightApi("/api/room/members/link", { method: "POST", body: JSON.stringify({ viewer }) })
      .then(() => { showError(null); return refreshMembers(); }, showError);
  });

  // -- posts ----------------------------------------------------------------------------

  const postForm = $("room-post-form");
  const preview = $("room-preview");

  function fillForm(post) {
    postForm.elements.id.value = post ? post.id : "";
    postForm.elements.title.value = post ? post.title : "";
    postForm.elements.body.value = post ? post.body : "";
    postForm.elements.announce.checked = false;
    postForm.querySelectorAll('input[name="tiers"]').forEach((box) => {
      box.checked = !!post && post.tiers.indexOf(box.value) >= 0;
    });
    preview.hidden = true;
  }

  function renderPosts() {
    const list = $("room-posts");
    list.replaceChildren();
    if (!posts.length) list.appendChild(el("li", "No posts yet.", "empty"));
    posts.forEach((post) => {
      const li = el("li");
      li.appendChild(el("strong", post.title));
      li.appendChild(el("span", ` · ${post.tiers.length ? post.tiers.join(", ") : "every room tier"}`));
      li.appendChild(button("Edit", () => { fillForm(post); postForm.scrollIntoView(); }));
      li.appendChild(button("Announce", () =>
        limelightApi(`/api/room/posts/${post.id}/announce`, { method: "POST", body: "{}" }).then(refreshPosts, showError)));
      li.appendChild(button("Delete", async () => {
        if ((await window.limelightDialog({ title: "Delete this post?", message: String(post.title), confirm: "Delete", danger: true })) === null) return;
        limelightApi(`/api/room/posts/${post.id}`, { method: "DELETE" }).then(refreshPosts, showError);
      }, "danger"));
      list.appendChild(li);
    });
  }

  function refreshPosts() {
    return limelightApi("/api/room/posts").then((data) => { posts = data.posts; renderPosts(); }, showError);
  }

  function formPost() {
    const tiers = Array.from(postForm.querySelectorAll('input[name="tiers"]:checked')).map((b) => b.value);
    return {
      title: postForm.elements.title.value,
      body: postForm.elements.body.value,
      tiers: tiers,
      announce: postForm.elements.announce.checked,
    };
  }

  postForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = postForm.elements.id.value;
    const request = id
      ? limelightApi(`/api/room/posts/${id}`, { method: "PUT", body: JSON.stringify(formPost()) })
      : limelightApi("/api/room/posts", { method: "POST", body: JSON.stringify(formPost()) });
    request.then((data) => { fillForm(data.post); showError(null); return refreshPosts(); }, showError);
  });

  $("room-preview-button").addEventListener("click", () => {
    limelightApi("/api/room/preview", { method: "POST", body: JSON.stringify({ body: postForm.elements.body.value }) })
      .then((data) => {
        // The server rendered the Markdown and sanitised it (nh3): no script, no handlers.
        preview.innerHTML = data.html;
        preview.hidden = false;
      }, showError);
  });

  $("room-post-new").addEventListener("click", () => fillForm(null));

  $("room-image").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const form = new FormData();
    form.append("file", file);
    limelightFetch("/p/room/media", { method: "POST", body: form })
      .then((response) => response.json().then((data) => {
        if (!response.ok) throw new Error(data.error || response.statusText);
        const area = postForm.elements.body;
        area.value += (area.value && !area.value.endsWith("\n") ? "\n\n" : "") + data.markdown + "\n";
        event.target.value = "";
      }))
      .catch(showError);
  });

  refreshLines();
  refreshMembers();
  refreshPosts();
  window.setInterval(refreshLines, 3000);
})();
