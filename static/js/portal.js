// Patient portal: suggestions for inputs marked data-autocomplete="<vocabulary>", fetched from the
// portal's terms endpoint into a native <datalist> (keyboard and screen reader support come with it).
(function () {
  "use strict";
  var form = document.querySelector("form[data-terms-url]");
  if (!form) { return; }
  var template = form.getAttribute("data-terms-url");
  form.querySelectorAll("input[data-autocomplete]").forEach(function (input) {
    var kind = input.getAttribute("data-autocomplete");
    var list = document.createElement("datalist");
    list.id = input.id + "-suggestions";
    form.appendChild(list);
    input.setAttribute("list", list.id);
    var timer = null;
    var last = "";
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var query = input.value.trim();
        if (query.length < 2 || query === last) { return; }
        last = query;
        var url = template.replace("KIND", encodeURIComponent(kind)) + "?q=" + encodeURIComponent(query);
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) {
            list.replaceChildren.apply(list, data.results.map(function (item) {
              var option = document.createElement("option");
              option.value = item.label;
              return option;
            }));
          })
          .catch(function () { /* suggestions are a convenience; typing still works */ });
      }, 150);
    });
  });
})();
