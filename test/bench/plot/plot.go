// Package plot draws the growth plot of `make bench` as a PNG, so that a
// reader can judge at a glance how certsweep's cost scales with the number
// of Certificates in the cluster.
package plot

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Sample is one measured run at N Certificates.
type Sample struct {
	N            int           // Certificates in the cluster
	Wall         time.Duration // wall time of the run
	CPU          time.Duration // user+system CPU time of the certsweep process
	PeakRSSBytes uint64        // peak resident set size of the process
	Requests     int           // API requests the run made
}

// Series is one scenario's line, e.g. "issue (all new)" or "no-op sweep" or "raw LIST floor".
type Series struct {
	Name    string
	Samples []Sample // sorted by N ascending by the caller, but do not rely on it: sort a copy
}

// Image geometry. The pixel size is fixed so that plots from different runs
// can be compared side by side; the DPI only scales fonts and line widths.
const (
	widthPx  = 1600
	heightPx = 1200
	dpi      = 120
)

// metric describes one panel so that all four panels are built by the same
// code and cannot drift apart in style.
type metric struct {
	title string
	label string
	value func(Sample) float64
}

var metrics = []metric{
	{"Wall time", "Wall time (s)", func(s Sample) float64 { return s.Wall.Seconds() }},
	{"CPU time (user+system)", "CPU time (s)", func(s Sample) float64 { return s.CPU.Seconds() }},
	{"Peak resident set size", "Peak RSS (MiB)", func(s Sample) float64 { return float64(s.PeakRSSBytes) / (1 << 20) }},
	{"API requests", "API requests", func(s Sample) float64 { return float64(s.Requests) }},
}

// WritePNG renders the benchmark series as a 2x2 grid of panels (wall
// time, CPU time, peak RSS and API requests, each against N) under title and
// saves it as a 1600x1200 PNG at path, so growth with cluster size can be
// judged from one picture. Each series keeps its colour and glyph on every
// panel; a series whose values are all zero for a metric (say, a floor
// measured in-process, with no CPU or RSS figures) is left off that panel.
//
// Each panel also carries a faint dashed line through the origin and the
// largest-N point of the first series drawn on it, so that super-linear
// growth stands out as a curve bending away from that line.
func WritePNG(path, title string, series []Series) error {
	if err := writePNG(path, title, series); err != nil {
		return fmt.Errorf("writing growth plot %s: %w", path, err)
	}
	return nil
}

func writePNG(path, title string, series []Series) error {
	if len(series) == 0 {
		return errors.New("no series given")
	}
	sorted := make([]Series, len(series))
	total := 0
	for i, s := range series {
		samples := slices.Clone(s.Samples)
		slices.SortStableFunc(samples, func(a, b Sample) int { return a.N - b.N })
		sorted[i] = Series{Name: s.Name, Samples: samples}
		total += len(samples)
	}
	if total == 0 {
		return errors.New("no samples in any series")
	}

	panels := make([][]*plot.Plot, 2)
	for i, m := range metrics {
		p, err := panel(m, sorted)
		if err != nil {
			return fmt.Errorf("%s panel: %w", m.title, err)
		}
		panels[i/2] = append(panels[i/2], p)
	}

	img := vgimg.NewWith(
		vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, widthPx, heightPx))),
		vgimg.UseDPI(dpi),
	)
	dc := draw.New(img)

	titleStyle := text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, 16),
		XAlign:  draw.XCenter,
		YAlign:  draw.YTop,
		Handler: plot.DefaultTextHandler,
	}
	margin := vg.Points(10)
	titleTop := dc.Max.Y - margin
	dc.FillText(titleStyle, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: titleTop}, title)

	tiles := draw.Tiles{
		Rows: 2, Cols: 2,
		PadTop:    titleStyle.Height(title) + 2*margin,
		PadBottom: margin, PadLeft: margin, PadRight: margin,
		PadX: 3 * margin, PadY: 3 * margin,
	}
	canvases := plot.Align(panels, tiles, dc)
	for r, row := range panels {
		for c, p := range row {
			p.Draw(canvases[r][c])
		}
	}

	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// panel builds one metric's plot. Colours and glyphs are picked by the
// series' index in the full list, not its position on the panel, so a
// scenario keeps its look even when it is skipped on some panels.
func panel(m metric, series []Series) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = m.title
	p.X.Label.Text = "Certificates (N)"
	p.Y.Label.Text = m.label
	p.X.Tick.Marker = plainTicks{}
	p.Y.Tick.Marker = plainTicks{}
	p.Legend.Top = true
	p.Legend.Left = true
	p.Legend.XOffs = vg.Points(8)
	p.Legend.YOffs = -vg.Points(4)
	p.Add(plotter.NewGrid())

	var (
		data    []plot.Plotter
		ref     plotter.XY // largest-N point of the first series shown here
		haveRef = false
	)
	for i, s := range series {
		xys := make(plotter.XYs, len(s.Samples))
		nonZero := false
		for j, smp := range s.Samples {
			xys[j] = plotter.XY{X: float64(smp.N), Y: m.value(smp)}
			nonZero = nonZero || xys[j].Y != 0
		}
		if !nonZero {
			continue // not measured for this metric, e.g. an in-process floor
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("series %q: %w", s.Name, err)
		}
		line.Color = plotutil.Color(i)
		line.Width = vg.Points(1.5)
		points.Color = plotutil.Color(i)
		points.Shape = plotutil.Shape(i)
		points.Radius = vg.Points(3)
		data = append(data, line, points)
		p.Legend.Add(s.Name, line, points)
		if !haveRef {
			ref, haveRef = xys[len(xys)-1], true
		}
	}

	if !haveRef {
		// Nothing measured this metric; keep an empty, labelled panel so
		// the grid layout stays the same from run to run.
		p.Title.Text += " (no data)"
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
		return p, nil
	}

	// Start both axes at zero so the reference line visibly passes
	// through the origin and slopes are comparable by eye.
	p.X.Min = math.Min(p.X.Min, 0)
	p.Y.Min = math.Min(p.Y.Min, 0)
	if ref.X > 0 {
		slope := ref.Y / ref.X
		lin := plotter.NewFunction(func(x float64) float64 { return slope * x })
		lin.Samples = 2
		lin.Color = color.NRGBA{A: 0x80}
		lin.Width = vg.Points(1)
		lin.Dashes = []vg.Length{vg.Points(6), vg.Points(4)}
		p.Add(lin) // before the data, so the series are drawn on top of it
		p.Legend.Add("linear (reference)", lin)
	}
	p.Add(data...)
	return p, nil
}

// plainTicks wraps the default ticker but prints labels without exponent
// notation, because "1e+04 Certificates" reads worse than "10000".
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i, t := range ticks {
		if strings.ContainsRune(t.Label, 'e') {
			ticks[i].Label = strconv.FormatFloat(t.Value, 'f', -1, 64)
		}
	}
	return ticks
}
