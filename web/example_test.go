package web_test

import (
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"

	"github.com/svcreg/svcreg/registry"
	"github.com/svcreg/svcreg/web"
)

// The UI is one handler mounted at "/", beside the daemon's API. Here it
// serves a one-row registry, and the service page shows the dig command
// for svcreg's resolver.
func ExampleNew() {
	src, err := registry.ParseCSV(strings.NewReader(
		"Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes\n"+
			"ipp,631,tcp,Internet Printing Protocol,,,,,[RFC8011],,,\n"), "example.csv")
	if err != nil {
		log.Fatal(err)
	}
	snap, err := registry.Build(src)
	if err != nil {
		log.Fatal(err)
	}
	ui, err := web.New(web.Options{
		Store:     registry.NewStore(snap),
		DNSServer: "127.0.0.1", DNSPort: 5300, Zone: "services.internal.",
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/", ui) // the daemon adds /v1/, /metrics, /healthz, /readyz

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/services/ipp", nil))
	fmt.Println(rec.Code)
	for _, m := range regexp.MustCompile(`<code id="dig-[^"]+">([^<]*)</code>`).FindAllStringSubmatch(rec.Body.String(), -1) {
		fmt.Println(m[1])
	}
	// Output:
	// 200
	// dig @127.0.0.1 -p 5300 _ipp._tcp.services.internal. SRV
	// dig @127.0.0.1 -p 5300 _ipp._tcp.services.internal. TXT
}
