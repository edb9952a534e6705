// A bar chart (Chart.js, loaded only with the Overview). Stacked when it has
// several series; a table of the same numbers is kept beside it for screen
// readers and for anyone who wants the exact values.
import { useEffect, useRef } from "react";
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Tooltip,
} from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface Series {
  label: string;
  values: number[];
  color: string;
}

export default function BarChart({
  title,
  labels,
  series,
  horizontal = false,
  unit = "",
}: {
  title: string;
  labels: string[];
  series: Series[];
  horizontal?: boolean;
  unit?: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const chart = new Chart(canvas.current!, {
      type: "bar",
      data: {
        labels,
        datasets: series.map((s) => ({ label: s.label, data: s.values, backgroundColor: s.color })),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { display: series.length > 1, position: "bottom" } },
        scales: {
          x: { stacked: true, ticks: { maxRotation: 0, autoSkip: true } },
          y: { stacked: true, beginAtZero: true },
        },
      },
    });
    return () => chart.destroy();
  }, [labels, series, horizontal]);
  return (
    <figure className="card">
      <figcaption>
        <h3>{title}</h3>
      </figcaption>
      <div className="chart">
        <canvas ref={canvas} role="img" aria-label={title} />
      </div>
      <details>
        <summary>The numbers</summary>
        <table>
          <thead>
            <tr>
              <th scope="col"></th>
              {series.map((s) => (
                <th scope="col" key={s.label}>
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {labels.map((label, i) => (
              <tr key={label}>
                <th scope="row">{label}</th>
                {series.map((s) => (
                  <td key={s.label}>
                    {s.values[i]}
                    {unit}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
