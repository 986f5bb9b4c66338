package replay_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bayeux-go/sdk/bayeux"
	"github.com/bayeux-go/sdk/ext/replay"
)

// platformEvent is the data of a Platform Event of about 250 bytes, as
// Salesforce delivers it (the replay id after the payload).
func platformEvent(id int) []byte {
	return fmt.Appendf(nil, `{"schema":"dffQ2QLzDNHqwB8_sHMxdA","payload":{"CreatedDate":"2026-11-26T10:00:00.000Z","CreatedById":"005xx000001X8UzAAK","Order_Number__c":"ON-%06d","Amount__c":1234.5,"Status__c":"Shipped"},"event":{"replayId":%d}}`, id, id)
}

// changeEvent is the data of a Change Data Capture event of about 700
// bytes.
func changeEvent(id int) []byte {
	return fmt.Appendf(nil, `{"schema":"IeRuaY6cbI_HsV8Rv1Mc5g","payload":{"ChangeEventHeader":{"entityName":"Account","recordIds":["001xx000003DGb2AAG"],"changeType":"UPDATE","changeOrigin":"com/salesforce/api/soap/58.0;client=SfdcInternalAPI/","transactionKey":"0002343d-9d90-e395-ed20-cf416ba652ad","sequenceNumber":1,"commitTimestamp":1764151200000,"commitNumber":10969661170001,"commitUser":"005xx000001X8UzAAK","nulledFields":[],"diffFields":[],"changedFields":["Name","LastModifiedDate","BillingAddress.City"]},"Name":"Acme \"Worldwide\"","LastModifiedDate":"2026-11-26T10:00:00.000Z","BillingAddress":{"Street":null,"City":"San Francisco","State":null,"PostalCode":null,"Country":null}},"event":{"replayId":%d}}`, id)
}

// BenchmarkDelivered measures what the extension adds to the delivery of
// each event: reading data.event.replayId and saving it in the store.
// Platform Events and change events end with the replay id (read from the
// end); a PushTopic event starts with it (read with bayeux.RawInt).
func BenchmarkDelivered(b *testing.B) {
	for _, ev := range []struct {
		name string
		data []byte
	}{
		{"platform-event", platformEvent(123456)},
		{"change-event", changeEvent(123456)},
		{"pushtopic", []byte(`{"event":{"createdDate":"2026-11-26T10:00:00.000Z","replayId":123456,"type":"updated"},"sobject":{"Id":"001xx000003DGb2AAG","Name":"Acme","Phone":"+1 415 555 0100","Industry":"Manufacturing"}}`)},
	} {
		for _, st := range []string{"memory", "file"} {
			b.Run(ev.name+"/store="+st, func(b *testing.B) {
				var store replay.Store = replay.NewMemoryStore()
				if st == "file" {
					fs, err := replay.OpenFileStore(filepath.Join(b.TempDir(), "ids.json"), replay.WithFlushInterval(time.Hour))
					if err != nil {
						b.Fatal(err)
					}
					defer fs.Close()
					store = fs
				}
				ext := replay.New(replay.WithStore(store))
				m := &bayeux.Message{Channel: orders, Data: ev.data}
				b.SetBytes(int64(len(ev.data)))
				b.ReportAllocs()
				for b.Loop() {
					ext.Delivered(orders, m)
				}
			})
		}
	}
}

// Recording a replay id allocates nothing.
func TestDeliveredAllocatesNothing(t *testing.T) {
	ext := replay.New()
	m := &bayeux.Message{Channel: orders, Data: changeEvent(7)}
	ext.Delivered(orders, m) // the channel's first id creates its entry
	if n := testing.AllocsPerRun(100, func() { ext.Delivered(orders, m) }); n != 0 {
		t.Fatalf("Delivered allocates %v times per event", n)
	}
	if id, _ := ext.Store().Load(orders); id != 7 {
		t.Fatalf("stored %d, want 7", id)
	}
}

// BenchmarkReadReplayID measures reading data.event.replayId alone, with
// bayeux.RawInt and, for comparison, with encoding/json.
func BenchmarkReadReplayID(b *testing.B) {
	data := platformEvent(123456)
	b.Run("RawInt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := bayeux.RawInt(data, "event", "replayId"); !ok {
				b.Fatal("no replay id")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		var v struct {
			Event struct {
				ReplayID int64 `json:"replayId"`
			} `json:"event"`
		}
		for b.Loop() {
			if err := json.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
}
